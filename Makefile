# Customer-360 lakehouse. `make` alone prints this help.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
UV := .cache/uv/bin/uv
JOBS := $(PY) -m jobs
SCALE ?=
SEED ?=
FORCE ?=
export PYTHONPATH := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1
STAMP := .venv/.synced
DELTA_JARS := .cache/ivy/.fetched

.PHONY: help setup run test data bronze silver eval-identity bench lint clean clean-lake summary jobs gold sql notebooks

help: ## show this help
	@echo "Customer-360 lakehouse - make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'
	@echo "Variables: SCALE=<events> SEED=<n> FORCE=1 (make data); C360__SECTION__KEY=value overrides config/pipeline.yaml"

# Targets of later capabilities live beside this file, one .mk per area (airflow, quality, ...).
-include mk/*.mk

# --- environment: uv from PyPI into .cache, then the locked environment in .venv ------------
$(UV):
	@echo ">> installing uv into .cache/uv"
	@python3 -m venv .cache/uv && .cache/uv/bin/pip install -q "uv==0.13.9"

# --compile-bytecode: without .pyc files every process compiles what it imports from source
# (Great Expectations alone: ~10 s of every gate, Airflow task and Spark Python worker).
$(STAMP): pyproject.toml uv.lock Makefile | $(UV)
	@echo ">> syncing .venv from uv.lock"
	@UV_PROJECT_ENVIRONMENT=.venv $(UV) sync --frozen --python python3.11 --compile-bytecode -q
	@touch $(STAMP)

$(DELTA_JARS): | $(STAMP)
	@echo ">> fetching Delta jars from Maven Central into .cache/ivy (once)"
	@$(JOBS) fetch-jars
	@touch $(DELTA_JARS)

setup: $(STAMP) $(DELTA_JARS) ## create .venv and fetch Delta's jars (run by every target that needs them)

# --- pipeline -------------------------------------------------------------------------------
run: setup ## generate data if none is landed, run every stage, print a summary
	@$(JOBS) pipeline

data: setup ## generate synthetic landing data (SCALE=events SEED=n FORCE=1 to replace)
	@$(JOBS) generate $(if $(SCALE),--scale $(SCALE)) $(if $(SEED),--seed $(SEED)) $(if $(FORCE),--force)

bronze: setup ## ingest new landed files of every source into bronze
	@$(JOBS) stage bronze

silver: setup ## standardise new bronze rows into silver, then resolve identities
	@$(JOBS) stage silver identity

eval-identity: setup ## identity precision, recall, F1 and largest clusters against the generator's truth
	@$(JOBS) eval-identity

summary: setup ## rows per table in the lake
	@$(JOBS) summary

jobs: setup ## list the jobs (the same list Airflow uses)
	@$(JOBS) list

# --- quality --------------------------------------------------------------------------------
# Two processes (TEST_WORKERS=1 for one): the suite waits mostly on JVM starts, GX and Airflow's
# Python, which leave a core idle. --dist loadscope keeps each module in one process, so a
# module's lake fixture is built once (loadgroup is broken with pytest 9.2: docs/benchmarks.md);
# --no-loadscope-reorder hands modules out in file order, so the long DAG runs (tests/dags) start
# first instead of last, and the many small unit modules even out the end.
TEST_WORKERS ?= 2
test: setup ## run the test suite (real Spark, Delta, Airflow) in TEST_WORKERS processes (default 2)
	@$(PY) -m pytest $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder)

lint: setup ## ruff
	@.venv/bin/ruff check jobs tests dags bench

bench: setup ## every stage at SCALE events (default 2,000,000): throughput, gate cost, gold vs DuckDB, erasure 1 vs 1,000; see README "Benchmarks"
	@$(PY) -m bench $(if $(SCALE),--scale $(SCALE))

clean-lake: ## delete the lake (Delta tables) but keep landed data
	rm -rf data/lake data/checkpoints

clean: ## delete generated data, lake, caches and .venv
	rm -rf data .venv .cache .pytest_cache .ruff_cache

# --- gold and analyst access ----------------------------------------------------------------
gold: setup ## build the gold tables (customer_360, segments, A/B results, marts) as of DATE=YYYY-MM-DD (default: latest data day), then gate them
	@$(JOBS) stage gold gold_gate $(if $(DATE),--date $(DATE))

sql: setup ## SQL shell over gold and non-restricted silver tables (Spark); Q="SELECT ..." runs one query
	@$(JOBS) sql $(if $(Q),-e "$(Q)")

notebooks: setup ## execute notebooks/*.ipynb against the lake; executed copies with plots in data/notebooks/
	@$(PY) -m jobs notebooks notebooks/*.ipynb
