"""Airflow DAG `customer360_maintenance`: weekly Delta housekeeping of every table of the lake.

compact_lake (OPTIMIZE) then vacuum_lake (VACUUM keeping the time-travel window), both through
spark-submit of `python -m jobs maintenance <action>`. See dags/c360_dags/factory.py.
"""

from c360_dags import factory, settings

config, airflow_settings = settings.load()
dag = factory.build_maintenance_dag(config, airflow_settings)
