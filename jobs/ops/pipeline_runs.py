"""ops.pipeline_runs: what the orchestrator saw (failed and retried tasks, finished DAG runs).

Written by Airflow's callbacks, which must stay cheap and must not fail: a failure record has to
land even when Spark itself is what broke. So this module writes the Delta table with delta-rs
(the `deltalake` package: no JVM, about a second) instead of a Spark session. Spark reads the
table like any other (`ops.pipeline_runs` in `python -m jobs summary`).

    python -m jobs runs record --dag-id customer360_daily --run-id R --status failed \
        --task-id ingest_events --logical-date 2026-11-21 --try-number 3 --error "..."
    python -m jobs runs show [--limit 20]

The schema, with a description per column, is schemas/ops/pipeline_runs.yaml.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from typing import Any

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.errors import JobError

log = logging.getLogger(__name__)

TABLE = "ops.pipeline_runs"
STATUSES = ("failed", "up_for_retry", "success")
MAX_ERROR_CHARS = 4000
_ARROW_TYPES = {"string": "string", "int": "int32", "bigint": "int64", "double": "float64",
                "boolean": "bool", "date": "date32", "timestamp": "timestamp"}


def _arrow_schema():
    import pyarrow as pa

    fields = []
    for col in table_schema(TABLE).columns:
        kind = _ARROW_TYPES.get(col.type)
        if kind is None:
            raise JobError(f"schemas/ops/pipeline_runs.yaml: column {col.name} has type {col.type!r}, "
                           f"which this JVM-free writer does not map; use one of {', '.join(_ARROW_TYPES)}")
        arrow_type = pa.timestamp("us", tz="UTC") if kind == "timestamp" else getattr(pa, kind)()
        fields.append(pa.field(col.name, arrow_type, nullable=col.nullable))
    return pa.schema(fields)


def _delta_schema():
    """The declared schema as a Delta schema, with each description as the column comment."""
    from deltalake import Field, Schema

    delta_types = {"int": "integer", "bigint": "long", "double": "double", "boolean": "boolean",
                   "string": "string", "date": "date", "timestamp": "timestamp"}
    return Schema([Field(c.name, delta_types[c.type], nullable=c.nullable,
                         metadata={"comment": c.description})
                   for c in table_schema(TABLE).columns])


def _table_uri(config: Config) -> str:
    return str(config.paths.table(TABLE))


def _ensure_table(uri: str) -> None:
    from deltalake import DeltaTable

    if DeltaTable.is_deltatable(uri):
        return
    try:
        DeltaTable.create(uri, _delta_schema(), mode="ignore", name=TABLE,
                          description=table_schema(TABLE).description)
    except Exception:  # noqa: BLE001 - another callback may have created it at the same moment
        if not DeltaTable.is_deltatable(uri):
            raise


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def make_row(*, dag_id: str, run_id: str, status: str, task_id: str | None = None,
             logical_date: dt.date | None = None, try_number: int | None = None,
             error: str | None = None, started_at: dt.datetime | None = None,
             ended_at: dt.datetime | None = None, log_url: str | None = None,
             hostname: str | None = None) -> dict[str, Any]:
    if status not in STATUSES:
        raise JobError(f"status {status!r} not allowed; use one of {', '.join(STATUSES)}")
    if not dag_id or not run_id:
        raise JobError("dag_id and run_id are required")
    if isinstance(logical_date, dt.datetime):
        logical_date = logical_date.date()
    return {
        "dag_id": dag_id, "run_id": run_id, "logical_date": logical_date, "task_id": task_id,
        "status": status, "try_number": try_number,
        "error": error[:MAX_ERROR_CHARS] if error else None,
        "started_at": _utc(started_at), "ended_at": _utc(ended_at),
        "hostname": hostname or socket.gethostname(), "log_url": log_url,
        "recorded_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
    }


def record(config: Config, rows: list[dict[str, Any]], attempts: int = 5) -> None:
    """Append rows to ops.pipeline_runs (created on first use). Concurrent writers retry."""
    import pyarrow as pa
    from deltalake import write_deltalake

    uri = _table_uri(config)
    _ensure_table(uri)
    data = pa.Table.from_pylist(rows, schema=_arrow_schema())
    for attempt in range(1, attempts + 1):
        try:
            write_deltalake(uri, data, mode="append")
            return
        except Exception as exc:  # noqa: BLE001 - commit conflicts between parallel callbacks
            if attempt == attempts:
                raise
            log.warning("append to %s failed (%s); retrying", TABLE, exc)
            time.sleep(0.2 * attempt)


def read(config: Config):
    """The whole table as a pyarrow Table (JVM-free), or None when nothing was recorded yet."""
    from deltalake import DeltaTable

    uri = _table_uri(config)
    if not DeltaTable.is_deltatable(uri):
        return None
    return DeltaTable(uri).to_pyarrow_table()


def cli(args, config: Config) -> int:
    """`python -m jobs runs record ...` (Airflow's callbacks) and `python -m jobs runs show`."""
    if args.action == "record":
        row = make_row(dag_id=args.dag_id, run_id=args.run_id, status=args.status, task_id=args.task_id,
                       logical_date=args.logical_date, try_number=args.try_number, error=args.error,
                       started_at=args.started_at, ended_at=args.ended_at, log_url=args.log_url)
        record(config, [row])
        log.info("%s: recorded %s %s %s", TABLE, args.dag_id, args.task_id or "(run)", args.status)
        return 0
    table = read(config)
    if table is None:
        print(f"{TABLE}: nothing recorded yet")
        return 0
    rows = sorted(table.to_pylist(), key=lambda r: r["recorded_at"], reverse=True)[:args.limit]
    for r in rows:
        print(f"{r['recorded_at']:%Y-%m-%d %H:%M:%S}  {r['dag_id']:<24} {r['run_id']:<44} "
              f"{r['task_id'] or '(run)':<22} {r['status']:<13} {(r['error'] or '')[:80]}")
    return 0
