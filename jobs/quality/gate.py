"""Jobs gate_bronze, gate_silver and gate_gold: validate what this run wrote before the next layer reads it.

gate_bronze: what the run ingested. Per source, the rows of every ingestion batch the run
committed (a batch resumed after a crash is judged with the run that finished it); the quarantine
rows of those batches; and the run's committed files in ops.ingested_files, where the file-level
checks judge every source at once (reconciliation with the tables, freshness: a source that never
landed fails there, quarantine shares). All tables are validated and recorded first; then one
GateFailed names every failure.

gate_silver: after conform and identity, before gold. Tables whose rows carry the run that
wrote them are judged on this run's rows; the identity graph and the customer profiles, which
identity rewrites as a whole, are judged whole (one key per identifier, one row per customer).

gate_gold (and gate_scores): after the gold (scoring) stage, before anyone downstream. The tables
are judged whole, as the run left them, each at one version; when every check passes those
versions are published (jobs.common.publication), and only published versions reach analysts and
later stages. On a failure nothing is published and nothing is undone: readers keep the last
published versions, and the writers' next run starts from them.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import registry
from jobs.common.config import Config
from jobs.common.contracts import bronze_schema, table_schema
from jobs.common.errors import JobError
from jobs.common.logs import submit_in_context
from jobs.common.publication import publish
from jobs.common.results import JobResult, utc_now
from jobs.common.tables import latest_version, read_table, spark_schema
from jobs.quality.api import Batch, check_all
from jobs.quality.gx_runner import GxSession, gx_dir
from jobs.quality.kinds import IngestedBatches
from jobs.quality.kinds.base import sql_ids, sql_literal
from jobs.quality.outcomes import gate_failed

GATED_LAYERS = ("bronze", "silver", "gold", "scores")
# silver gate: table -> column naming the run that wrote a row (None: judge the whole table)
SILVER_GATED = {"silver.touchpoints": "_silver_run_id", "ops.silver_reconciliation": "run_id",
                "silver.identity_graph": None, "silver.customers": None}
# gold gate: every table the gold jobs write, in registry order (customer_360 first: others refer to it)
GOLD_GATED = registry.GOLD_TABLES
READ_THREADS = 2  # tables opened at once: reading a Delta log is a small Spark job, mostly scheduling


def committed_batches(files: DataFrame, run_id: str | None) -> dict[str, tuple[int, ...]]:
    """source -> batch ids committed by `run_id` (every committed batch when run_id is None)."""
    files = files.where(F.col("status") == "committed")
    if run_id is not None:
        files = files.where(F.col("run_id") == run_id)
    batches: dict[str, list[int]] = {}
    for row in files.select("source", "batch_id").distinct().collect():
        batches.setdefault(row["source"], []).append(row["batch_id"])
    return {source: tuple(sorted(ids)) for source, ids in batches.items()}


class GateTables:
    """The tables a gate's checks read, each read at one version (tables.read_table) and a temp
    view (`views`: table -> view, check_all's `tables`); small tables every check reads are also
    cached. `start_reading` pins tables in background threads while the caller reads others.
    Views dropped and caches freed when the `with` block ends."""

    def __init__(self, spark: SparkSession, config: Config):
        self.spark, self.config, self.views = spark, config, {}
        self._cached: list[DataFrame] = []
        self._reads: dict[str, Future] = {}
        self._pool = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="gate-read")

    def start_reading(self, schemas: dict[str, object]) -> None:
        """Pin these tables (table -> schema, for an empty frame when one does not exist yet) meanwhile."""
        for table, schema in schemas.items():
            self._reads[table] = submit_in_context(self._pool, _read, self.spark, self.config, table, schema)

    def read(self, table: str, schema=None, *, view: bool = True) -> tuple[DataFrame, int | None]:
        """(the whole table at its pinned version, that version), also its view unless view=False;
        (empty, None) when the table does not exist."""
        reading = self._reads.pop(table, None)
        rows, version = reading.result() if reading else _read(self.spark, self.config, table,
                                                               schema or table_schema(table))
        if view and version is not None:
            self.add(table, rows)
        return rows, version

    def add(self, table: str, frame: DataFrame, *, cache: bool = False) -> DataFrame:
        """`frame` as the view of `table`; cache=True: cached (its first read fills the cache)."""
        if cache:
            frame = frame.persist()
            self._cached.append(frame)
        self.views[table] = f"_gate_{table.replace('.', '_')}_{uuid.uuid4().hex[:8]}"
        frame.createOrReplaceTempView(self.views[table])
        return frame

    def __enter__(self) -> GateTables:
        return self

    def __exit__(self, *_exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for view in self.views.values():
            self.spark.catalog.dropTempView(view)
        for frame in self._cached:
            frame.unpersist()


def _read(spark: SparkSession, config: Config, table: str, schema) -> tuple[DataFrame, int | None]:
    """(the table at its latest version, that version); an empty frame and None when it does not exist.

    Read at that version, so a commit landing while the gate runs changes none of its checks."""
    path = str(config.paths.table(table))
    version = latest_version(path)
    if version is None:
        return spark.createDataFrame([], spark_schema(schema)), None  # batch-level checks still run
    return read_table(spark, path, version), version


def table_batch(tables: GateTables, table: str, where: str | None = None, schema=None) -> Batch:
    """The table's rows where the SQL predicate `where` holds (all of them without one)."""
    rows, version = tables.read(table, schema)
    return Batch(table, rows.where(where) if where else rows, version=version, where=where)


def latest_date_batch(tables: GateTables, table: str) -> Batch:
    """The rows of the table's latest as_of_date: scores keep their history, whose keys may since
    have been merged away; each scoring run writes one date."""
    rows, version = tables.read(table)
    latest = rows.agg(F.max("as_of_date").alias("d")).first()["d"] if version is not None else None
    where = f"as_of_date = DATE'{latest}'" if latest else None
    return Batch(table, rows.where(where) if where else rows, version=version, where=where)


def bronze_batch(tables: GateTables, source: str, batch_ids: tuple[int, ...]) -> Batch:
    """What the run ingested into bronze.<source>: the rows of its ingestion batches."""
    return table_batch(tables, f"bronze.{source}", f"_batch_id IN {sql_ids(batch_ids)}" if batch_ids
                       else "false", bronze_schema(source))


def _of_batches(batches: dict[str, tuple[int, ...]], source_column: str, prefix: str = "") -> Column:
    """Rows of these ingestion batches: `source_column` = prefix + source and batch_id among its ids."""
    cond = F.lit(False)
    for source, ids in batches.items():
        cond = cond | ((F.col(source_column) == prefix + source) & F.col("batch_id").isin(list(ids)))
    return cond


def quarantine_batch(tables: GateTables, batches: dict[str, tuple[int, ...]]) -> Batch:
    """The quarantine rows bronze wrote for the same ingestion batches, cached as the checks' view of
    ops.quarantine (the file-level checks read the same rows)."""
    rows, version = tables.read("ops.quarantine", view=False)
    rows = tables.add("ops.quarantine", rows.where(_of_batches(batches, "stage", "bronze.")), cache=True)
    return Batch("ops.quarantine", rows, version=version)


def files_batch(files: DataFrame, version: int | None, batches: dict[str, tuple[int, ...]]) -> Batch:
    """The committed ops.ingested_files rows of the same ingestion batches: one per file."""
    return Batch("ops.ingested_files", files.where((F.col("status") == "committed") & _of_batches(batches, "source")),
                 version=version)


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False, stage: str = "bronze", gx_folder: str | Path | None = None,
        now: dt.datetime | None = None) -> JobResult:
    if stage not in GATED_LAYERS:
        raise JobError(f"gate stage '{stage}' is not known; known: {', '.join(GATED_LAYERS)}")
    started = time.monotonic()
    now = now or utc_now()
    if stage == "silver":
        return _gate_silver(spark, config, run_id, logical_date, full_rebuild, gx_folder, now, started)
    if stage == "gold":
        return _gate_published(spark, config, "gate_gold", GOLD_GATED, "Gold is",
                               "the gold stage", run_id, logical_date, gx_folder, now, started)
    if stage == "scores":
        return _gate_published(spark, config, "gate_scores", registry.SCORING_TABLES, "Scores are",
                               "the scoring stage", run_id, logical_date, gx_folder, now, started,
                               batch=latest_date_batch)
    gx = GxSession(gx_dir(config, gx_folder))  # GX imports in the background while Spark reads below
    sources = config.enabled_sources()
    with GateTables(spark, config) as tables:
        tables.start_reading({"ops.quarantine": table_schema("ops.quarantine")}
                             | {f"bronze.{s}": bronze_schema(s) for s in sources})
        # The file-level checks read the bookkeeping and this run's quarantine rows: cached once (the
        # bookkeeping as it is first read, to find the run's batches).
        files, files_version = tables.read("ops.ingested_files", view=False)
        files = tables.add("ops.ingested_files", files, cache=True)
        batches = committed_batches(files, None if full_rebuild else run_id)
        batches = {s: batches.get(s, ()) for s in sources}
        quarantine = quarantine_batch(tables, batches)
        checked = [bronze_batch(tables, s, batches[s]) for s in sources]
        checked += [quarantine, files_batch(files, files_version, batches)]
        results = check_all(spark, config, checked, run_id, logical_date=logical_date, now=now, gx=gx,
                            tables=tables.views, ingested=IngestedBatches(batches))  # all recorded in one commit
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
    with GateTables(spark, config) as tables:
        tables.start_reading({table: table_schema(table) for table in SILVER_GATED})
        checked = [table_batch(tables, table, None if full_rebuild or not run_column
                               else f"{run_column} = {sql_literal(run_id)}")
                   for table, run_column in SILVER_GATED.items()]
        results = check_all(spark, config, checked, run_id, logical_date=logical_date, now=now,
                            gx_folder=gx_folder, tables=tables.views)
    failed = [r for r in results if r.failed]
    if failed:
        raise gate_failed(failed, "Gold must not read this run's silver rows: the pipeline stops at gate_silver "
                                  "(silver keeps the rows; fix the cause, rerun silver and the gate)")
    return _passed("gate_silver", results, sum(r.rows_in for r in results), started)


def _gate_published(spark: SparkSession, config: Config, job: str, gated: tuple[str, ...],
                    what: str, rerun: str, run_id: str, logical_date, gx_folder, now: dt.datetime,
                    started: float, batch=None) -> JobResult:
    """Judge tables as the run left them (whole, or what `batch(tables, table)` selects) and publish
    the judged versions when all pass. `what`: the message's subject ("Gold is"); `rerun`: what to
    run again once fixed."""
    batch = batch or table_batch
    with GateTables(spark, config) as tables:
        tables.start_reading({table: table_schema(table) for table in gated})
        results = check_all(spark, config, [batch(tables, table) for table in gated], run_id,
                            logical_date=logical_date, now=now, gx_folder=gx_folder, tables=tables.views)
    failed = [r for r in results if r.failed]
    if failed:
        raise gate_failed(failed, f"{what} not published: analysts and downstream DAGs keep reading the last "
                                  f"published versions, and the next run of {rerun} starts from them; fix the "
                                  f"cause, then rerun {rerun} and {job}")
    publish(spark, config.paths.lake, {r.table: r.table_version for r in results if r.table_version is not None},
            run_id, job)
    return _passed(job, results, sum(r.rows_in for r in results), started)
