"""Airflow DAG `customer360_daily`: landing -> bronze -> (gate) -> silver -> identity -> (gate) -> gold -> (gate).

Built from jobs/registry.py, the job list the Makefile uses: one task group per stage, one task per
job (spark-submit of `python -m jobs run <job> --date <logical date>`); stages added to the registry join
without a change here. Everything heavy happens when tasks run; parsing reads one small YAML file.
See dags/c360_dags/factory.py.
"""

from c360_dags import factory, settings

config, airflow_settings = settings.load()
dag = factory.build_daily_dag(config, airflow_settings)
