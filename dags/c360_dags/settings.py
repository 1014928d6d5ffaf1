"""Orchestration settings, read from the project's configuration (config/pipeline.yaml).

The `airflow:` section of the YAML (typed as `Config.airflow` in jobs/common/config.py) holds the
knobs below; every key is optional and falls back to the default written here, so the DAGs parse
with any config file. Environment overrides work as for every other key:
`C360__AIRFLOW__RETRIES=0`, `C360__AIRFLOW__SPARK_CONN_ID=spark_cluster`.

Loading the config costs one small YAML read (about 70 ms of imports, once per parse).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

# The Spark connection the tasks submit through. Its master decides where jobs run: `local[*]`
# by default (mk/airflow.mk and the tests define it from AIRFLOW_CONN_SPARK_C360), a cluster
# master (spark://host:7077, yarn, k8s://...) by changing the connection, not the code.
DEFAULT_SPARK_CONN_ID = "spark_c360"
DEFAULT_SPARK_CONN_URI = '{"conn_type": "spark", "host": "local[*]"}'


@dataclass(frozen=True)
class AirflowSettings:
    spark_conn_id: str = DEFAULT_SPARK_CONN_ID
    owner: str = "customer360"
    daily_schedule: str = "@daily"                 # the logical date is the day whose files are due
    maintenance_schedule: str = "0 3 * * 0"        # weekly, Sunday 03:00 UTC, clear of the daily run
    models_schedule: str = "0 5 * * 0"             # weekly training, Sunday 05:00 UTC, after housekeeping
    start_date: dt.date | None = None              # default: first day of the generator's history
    catchup: bool = False                          # backfills are explicit: make backfill START END
    paused_at_creation: bool = True                # Airflow's default; unpause in the UI or REST API
    max_active_tasks: int = 2                      # Spark drivers at once per run (a 2-core machine)
    retries: int = 2                               # transient failures only; a job's own error fails at once
    retry_delay_minutes: float = 2.0
    max_retry_delay_minutes: float = 30.0          # exponential back-off: 2, 4, ... capped here
    execution_timeout_minutes: float = 120.0       # per task; spark-submit is killed after it
    dagrun_timeout_minutes: float = 720.0
    record_runs: bool = True                       # failures and run outcomes into ops.pipeline_runs


def _section(config: Any, name: str) -> dict[str, Any]:
    section = getattr(config, name, None)
    if section is None:
        return {}
    if isinstance(section, dict):
        return dict(section)
    return {f.name: getattr(section, f.name) for f in fields(section)}


def _coerce(cls, values: dict[str, Any], where: str):
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        from jobs.common.errors import ConfigError

        raise ConfigError(f"{where}.{unknown[0]}", "unknown key", allowed=", ".join(known))
    return cls(**{k: v for k, v in values.items() if v is not None})


def airflow_settings(config: Any) -> AirflowSettings:
    settings = _coerce(AirflowSettings, _section(config, "airflow"), "airflow")
    if settings.start_date is None:
        generator = getattr(config, "generator", None)
        if generator is not None:
            start = generator.end_date - dt.timedelta(days=generator.days - 1)
        else:
            start = dt.date(2026, 1, 1)
        settings = AirflowSettings(**{**settings.__dict__, "start_date": start})
    elif isinstance(settings.start_date, str):
        settings = AirflowSettings(**{**settings.__dict__,
                                      "start_date": dt.date.fromisoformat(settings.start_date)})
    return settings


def load() -> tuple[Any, AirflowSettings]:
    """The project's Config and its orchestration settings (what a DAG file needs at parse time)."""
    from jobs.common.config import load_config

    config = load_config()
    return config, airflow_settings(config)
