"""Airflow DAGs `customer360_models` (weekly: train -> score -> offers -> gate) and
`customer360_scoring` (after each gated gold publication: score -> offers -> gate), built from
jobs/registry.py's MODEL_STAGES.
Tasks spark-submit `python -m jobs run <job>` like the daily DAG. See dags/c360_dags/factory.py.
"""

from c360_dags import factory, settings

config, airflow_settings = settings.load()
models_dag, scoring_dag = factory.build_models_dags(config, airflow_settings)
