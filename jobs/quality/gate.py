"""Jobs gate_bronze, gate_silver and gate_gold: validate what this run wrote before the next layer reads it.

gate_bronze:

The batch of a source is every ingestion batch the run committed (ops.ingested_files), so a
batch resumed after a crash is judged with the run that finished it. A run that ingested
nothing still runs the batch-level expectations (freshness: a missing source fails here).
All tables are validated and recorded first; then one GateFailed names every failure.

gate_silver: after conform and identity, before gold. Tables whose rows carry the run that
wrote them are judged on this run's rows; the identity graph and the customer profiles, which
identity rewrites as a whole, are judged whole (one key per identifier, one row per customer).

gate_gold: after the gold stage, before anyone downstream (analysts, model training through the
Airflow assets it publishes). Gold tables are judged whole, as the run left them. On a failure
every gold table the run changed is restored to its version before the run (jobs.quality.
rollback), so the published tables stay at their last gated state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import registry
from jobs.common.config import Config
from jobs.common.contracts import bronze_schema, table_schema
from jobs.common.errors import JobError
from jobs.common.results import JobResult, utc_now
from jobs.common.tables import spark_schema, table_exists
from jobs.quality.api import check
from jobs.quality.kinds import BronzeBatch
from jobs.quality.outcomes import gate_failed
from jobs.quality.records import write_results
from jobs.quality.rollback import restore_before_run

GATED_LAYERS = ("bronze", "silver", "gold")
# silver gate: table -> column naming the run that wrote a row (None: judge the whole table)
SILVER_GATED = {"silver.touchpoints": "_silver_run_id", "ops.silver_reconciliation": "run_id",
                "silver.identity_graph": None, "silver.customers": None}
# gold gate: every table the gold jobs write, in registry order (customer_360 first: others refer to it)
GOLD_GATED = registry.GOLD_TABLES


def committed_batches(files: DataFrame, run_id: str | None) -> dict[str, tuple[int, ...]]:
    """source -> batch ids committed by `run_id` (every committed batch when run_id is None)."""
    files = files.where(F.col("status") == "committed")
    if run_id is not None:
        files = files.where(F.col("run_id") == run_id)
    batches: dict[str, list[int]] = {}
    for row in files.select("source", "batch_id").distinct().collect():
        batches.setdefault(row["source"], []).append(row["batch_id"])
    return {source: tuple(sorted(ids)) for source, ids in batches.items()}


@contextlib.contextmanager
def cached_views(spark: SparkSession, frames: dict[str, DataFrame]):
    """Cache small tables every table's checks read, once per gate; yield table -> temp view."""
    views = {table: f"_gate_{table.replace('.', '_')}_{uuid.uuid4().hex[:8]}" for table in frames}
    try:
        for table, frame in frames.items():
            frame.persist().createOrReplaceTempView(views[table])
        yield views
    finally:
        for table, frame in frames.items():
            spark.catalog.dropTempView(views[table])
            frame.unpersist()


def _read(spark: SparkSession, config: Config, table: str, schema) -> DataFrame:
    path = str(config.paths.table(table))
    if table_exists(spark, path):
        return spark.read.format("delta").load(path)
    return spark.createDataFrame([], spark_schema(schema))  # batch-level checks still run


def bronze_batch(spark: SparkSession, config: Config, source: str, batch_ids: tuple[int, ...]) -> DataFrame:
    rows = _read(spark, config, f"bronze.{source}", bronze_schema(source))
    return rows.where(F.col("_batch_id").isin(list(batch_ids)) if batch_ids else F.lit(False))


def quarantine_batch(spark: SparkSession, config: Config, batches: dict[str, tuple[int, ...]]) -> DataFrame:
    """The quarantine rows bronze wrote for the same ingestion batches."""
    rows = _read(spark, config, "ops.quarantine", table_schema("ops.quarantine"))
    cond = F.lit(False)
    for source, ids in batches.items():
        cond = cond | ((F.col("stage") == f"bronze.{source}") & F.col("batch_id").isin(list(ids)))
    return rows.where(cond)


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False, stage: str = "bronze", gx_folder: str | Path | None = None,
        now: dt.datetime | None = None, **_ignored) -> JobResult:
    if stage not in GATED_LAYERS:
        raise JobError(f"gate stage '{stage}' is not known; known: {', '.join(GATED_LAYERS)}")
    started = time.monotonic()
    now = now or utc_now()
    if stage == "silver":
        return _gate_silver(spark, config, run_id, logical_date, full_rebuild, gx_folder, now, started)
    if stage == "gold":
        return _gate_gold(spark, config, run_id, logical_date, gx_folder, now, started)
    sources = config.enabled_sources()
    files = _read(spark, config, "ops.ingested_files", table_schema("ops.ingested_files"))
    batches = committed_batches(files, None if full_rebuild else run_id)
    batches = {s: batches.get(s, ()) for s in sources}
    # Every table's checks read the bookkeeping and this run's quarantine rows: cache them once.
    shared = {"ops.ingested_files": files, "ops.quarantine": quarantine_batch(spark, config, batches)}
    with cached_views(spark, shared) as tables:
        kwargs = {"logical_date": logical_date, "now": now, "gx_folder": gx_folder, "record": False,
                  "tables": tables}
        results = [check(spark, config, f"bronze.{s}", bronze_batch(spark, config, s, batches[s]), run_id,
                         bronze=BronzeBatch(s, batches[s]), **kwargs) for s in sources]
        results.append(check(spark, config, "ops.quarantine", shared["ops.quarantine"], run_id, **kwargs))
    write_results(spark, config, results, now)  # one commit for the whole gate
    failed = [r for r in results if r.failed]
    if failed:
        raise gate_failed(failed, "Silver must not read this run's bronze rows: the pipeline stops at "
                                  "gate_bronze (bronze keeps the rows; rerun the gate once fixed)")
    rows = sum(r.rows_in for r in results if r.table.startswith("bronze."))
    return _passed("gate_bronze", results, rows, started)


def _passed(job: str, results: list, rows: int, started: float) -> JobResult:
    outcomes = [o for r in results for o in r.outcomes]
    return JobResult(job=job, rows_in=rows, rows_out=rows, seconds=time.monotonic() - started,
                     details={"tables": len(results), "expectations": len(outcomes),
                              "warned": sum(1 for o in outcomes if o.action == "warned")})


def _gate_silver(spark: SparkSession, config: Config, run_id: str, logical_date, full_rebuild: bool,
                 gx_folder, now: dt.datetime, started: float) -> JobResult:
    results = []
    for table, run_column in SILVER_GATED.items():
        rows = _read(spark, config, table, table_schema(table))
        if run_column and not full_rebuild:
            rows = rows.where(F.col(run_column) == run_id)
        results.append(check(spark, config, table, rows, run_id, logical_date=logical_date, now=now,
                             gx_folder=gx_folder, record=False))
    write_results(spark, config, results, now)
    failed = [r for r in results if r.failed]
    if failed:
        raise gate_failed(failed, "Gold must not read this run's silver rows: the pipeline stops at gate_silver "
                                  "(silver keeps the rows; fix the cause, rerun silver and the gate)")
    return _passed("gate_silver", results, sum(r.rows_in for r in results), started)


def _gate_gold(spark: SparkSession, config: Config, run_id: str, logical_date, gx_folder,
               now: dt.datetime, started: float) -> JobResult:
    results = [check(spark, config, table, _read(spark, config, table, table_schema(table)), run_id,
                     logical_date=logical_date, now=now, gx_folder=gx_folder, record=False)
               for table in GOLD_GATED]
    write_results(spark, config, results, now)
    failed = [r for r in results if r.failed]
    if failed:
        restored = restore_before_run(spark, config, list(GOLD_GATED), run_id,
                                      [job.name for job in registry.GOLD_JOBS])
        undone = "; ".join(r.line() for r in restored) or "no gold table had been changed by this run"
        raise gate_failed(failed, f"Gold is not published: {undone}. Analysts and downstream DAGs keep "
                                  f"the last gated gold; fix the cause, then rerun the gold stage and gate_gold")
    return _passed("gate_gold", results, sum(r.rows_in for r in results), started)
