# --- orchestration: Airflow 3 standalone with the project's DAGs (dags/) ----------------------
# Metadata in SQLite under .cache/airflow (git-ignored). Tasks run the same jobs as `make run`,
# through spark-submit; the Spark master is the Airflow connection `spark_c360` (local[*] unless
# you edit it: Admin > Connections in the UI, or AIRFLOW_CONN_SPARK_C360=spark://host:7077).
AIRFLOW_HOME_DIR := $(CURDIR)/.cache/airflow
AIRFLOW_PORT ?= 8080
AIRFLOW_API_HOST ?= 127.0.0.1
AIRFLOW := .venv/bin/airflow
AIRFLOW_STAMP := $(AIRFLOW_HOME_DIR)/.initialised
AIRFLOW_PASSWORDS := $(AIRFLOW_HOME_DIR)/simple_auth_manager_passwords.json.generated
DAILY_DAG := customer360_daily
START ?=
END ?=
REPROCESS ?= none
DRY_RUN ?=

.PHONY: airflow airflow-init airflow-check airflow-smoke backfill airflow-clean

# Settings for every Airflow command below (target-specific, so `make test` is unaffected).
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export AIRFLOW_HOME := $(AIRFLOW_HOME_DIR)
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export AIRFLOW__CORE__LOAD_EXAMPLES := False
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS := admin:admin
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export AIRFLOW__API__PORT := $(AIRFLOW_PORT)
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export AIRFLOW__API__HOST := $(AIRFLOW_API_HOST)
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export AIRFLOW__API__BASE_URL := http://localhost:$(AIRFLOW_PORT)
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export AIRFLOW__CORE__EXECUTION_API_SERVER_URL := http://127.0.0.1:$(AIRFLOW_PORT)/execution/
airflow airflow-init airflow-check airflow-smoke backfill $(AIRFLOW_STAMP): export PATH := $(CURDIR)/.venv/bin:$(PATH)

$(AIRFLOW_STAMP): | $(STAMP)
	@mkdir -p $(AIRFLOW_HOME_DIR)
	@echo ">> initialising Airflow metadata in $(AIRFLOW_HOME_DIR) (once)"
	@$(AIRFLOW) db migrate >$(AIRFLOW_HOME_DIR)/db-migrate.log 2>&1 || { tail -20 $(AIRFLOW_HOME_DIR)/db-migrate.log; exit 1; }
	@$(AIRFLOW) connections get spark_c360 >/dev/null 2>&1 || \
	  $(AIRFLOW) connections add spark_c360 --conn-type spark --conn-host 'local[*]' \
	    --conn-description "Where the pipeline's Spark jobs run: local[*], or a cluster master (spark://host:7077, yarn, k8s://...)" >/dev/null
	@test -f $(AIRFLOW_PASSWORDS) || $(PY) -c "import json, secrets; print(json.dumps({'admin': secrets.token_urlsafe(12)}))" > $(AIRFLOW_PASSWORDS)
	@touch $@

airflow-init: setup $(AIRFLOW_STAMP) ## initialise Airflow's metadata DB, the spark_c360 connection and the admin login (once)

airflow: setup $(AIRFLOW_STAMP) ## start Airflow standalone with the project's DAGs (UI on AIRFLOW_PORT, default 8080)
	@test -n "$$(find data/landing -type f -print -quit 2>/dev/null)" || \
	  echo ">> note: nothing landed in data/landing yet; 'make data' generates the default data set"
	@echo ">> Airflow UI: http://$(AIRFLOW_API_HOST):$(AIRFLOW_PORT)  login: admin / $$($(PY) -c "import json; print(json.load(open('$(AIRFLOW_PASSWORDS)'))['admin'])")"
	@echo ">> DAGs: $(DAILY_DAG) (trigger it; it unpauses on trigger), customer360_maintenance (weekly). Ctrl-C stops Airflow."
	@exec $(AIRFLOW) standalone

airflow-check: setup $(AIRFLOW_STAMP) ## list the project's DAGs, their parse times and any import error
	@$(AIRFLOW) dags report 2>/dev/null
	@$(AIRFLOW) dags list-import-errors 2>/dev/null

# What `make airflow` promises, checked end to end through Airflow's REST API: Airflow standalone
# starts, lists the DAGs with no import errors, and a triggered daily run succeeds; then it stops.
airflow-smoke: setup $(AIRFLOW_STAMP) ## start Airflow, trigger customer360_daily through the REST API, wait for success, stop (DATE=YYYY-MM-DD)
	@test -n "$$(find data/landing -type f -print -quit 2>/dev/null)" || $(JOBS) generate
	@echo ">> starting Airflow standalone (log: $(AIRFLOW_HOME_DIR)/standalone.log)"
	@# No schedule for the check: unpausing a scheduled DAG would also start the latest interval's run.
	@C360__AIRFLOW__DAILY_SCHEDULE=None setsid $(AIRFLOW) standalone >$(AIRFLOW_HOME_DIR)/standalone.log 2>&1 & pid=$$!; \
	  trap 'kill -TERM -- -'$$pid' 2>/dev/null; sleep 5; kill -KILL -- -'$$pid' 2>/dev/null; true' EXIT; \
	  $(PY) dags/c360_dags/smoke.py --url http://127.0.0.1:$(AIRFLOW_PORT) --password-file $(AIRFLOW_PASSWORDS) \
	    --landing data/landing $(if $(DATE),--date $(DATE))

# Backfill: one run per day START..END (inclusive), oldest first, one at a time, each processing the
# files landed by its day. With Airflow running (make airflow), the scheduler runs it as an Airflow
# backfill (visible in the UI; the DAG gets unpaused). Otherwise the days run here, one after the
# other, with `airflow dags test` (same tasks, no scheduler needed).
backfill: setup $(AIRFLOW_STAMP) ## run the daily DAG for each day START=YYYY-MM-DD..END=YYYY-MM-DD (REPROCESS=none|failed|completed DRY_RUN=1)
	@test -n "$(START)" -a -n "$(END)" || { echo "usage: make backfill START=YYYY-MM-DD END=YYYY-MM-DD [REPROCESS=none|failed|completed]"; exit 2; }
	@$(PY) -c "import datetime as d, sys; a, b = d.date.fromisoformat('$(START)'), d.date.fromisoformat('$(END)'); sys.exit(0 if a <= b else 'START must not be after END')"
	@if $(AIRFLOW) jobs check --job-type SchedulerJob --limit 1 >/dev/null 2>&1; then \
	  echo ">> scheduler running: creating an Airflow backfill of $(DAILY_DAG) $(START)..$(END)"; \
	  $(if $(DRY_RUN),,$(AIRFLOW) dags unpause $(DAILY_DAG) >/dev/null &&) \
	  $(AIRFLOW) backfill create --dag-id $(DAILY_DAG) --from-date $(START) --to-date $(END) \
	    --max-active-runs 1 --reprocess-behavior $(REPROCESS) $(if $(DRY_RUN),--dry-run); \
	else \
	  echo ">> no scheduler running: running $(DAILY_DAG) here for each day $(START)..$(END)"; \
	  day=$(START); \
	  while [[ ! "$$day" > "$(END)" ]]; do \
	    echo ">> $(DAILY_DAG) $$day"; \
	    if [ -n "$(DRY_RUN)" ]; then day=$$(date -u -d "$$day + 1 day" +%F); continue; fi; \
	    $(AIRFLOW) dags test $(DAILY_DAG) $$day >$(AIRFLOW_HOME_DIR)/backfill-$$day.log 2>&1 \
	      || { tail -40 $(AIRFLOW_HOME_DIR)/backfill-$$day.log; echo ">> $$day failed (log: $(AIRFLOW_HOME_DIR)/backfill-$$day.log)"; exit 1; }; \
	    grep -hE "INFO jobs(\.[a-z_.]+)?: " $(AIRFLOW_HOME_DIR)/backfill-$$day.log | sed -E 's/.*INFO (jobs[^ ]*): /   \1: /; s/ \[airflow.*//' ; \
	    day=$$(date -u -d "$$day + 1 day" +%F); \
	  done; \
	fi

airflow-clean: ## delete Airflow's metadata, logs and login (.cache/airflow)
	rm -rf $(AIRFLOW_HOME_DIR)
