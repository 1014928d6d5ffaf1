# --- models: training, scoring, the MLflow UI (jobs/models, models/*.yaml) -------------------
# Runs and the registry live in the MLflow store of config `models` (default: data/mlflow/).
MLFLOW_PORT ?= 5000
.PHONY: train score offers mlflow models-check eval-models

train: setup ## fit every model of models/*.yaml and the CLV model, log them to MLflow, promote better champions (DATE=YYYY-MM-DD, MODELS=churn_risk,clv)
	@$(JOBS) $(if $(MODELS),run train_models --models $(MODELS),stage train) $(if $(DATE),--date $(DATE))

score: setup ## score every customer with each champion into gold.customer_scores, choose the next best offers, then gate both (DATE=YYYY-MM-DD)
	@$(JOBS) stage score offers score_gate $(if $(DATE),--date $(DATE))

offers: setup ## choose the next best offers from the latest scores into gold.next_best_offer, then gate (DATE=YYYY-MM-DD)
	@$(JOBS) stage offers score_gate $(if $(DATE),--date $(DATE))

mlflow: setup ## the MLflow UI on http://127.0.0.1:$(MLFLOW_PORT) over the project's store (runs, plots, champions)
	@$(PY) -m jobs mlflow --port $(MLFLOW_PORT)

models-check: setup ## validate models/*.yaml against the feature frame (no lake needed)
	@$(PY) -m jobs check-models

eval-models: setup ## each champion's holdout ROC AUC, and the offers' gain, against the generator's planted truth (the oracle)
	@$(JOBS) eval-models
