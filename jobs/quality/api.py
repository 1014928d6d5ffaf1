"""The two calls a stage makes: `promote` before it writes, `check` after a write it does not own.

promote(spark, config, "silver.touchpoints", batch, run_id, write=merge_into_silver)
    validates the batch once with the table's whole suite, records every result, then
      - any `fail` expectation unmet: raises GateFailed BEFORE `write` is called, so the table
        stays at its previous version;
      - `drop` expectations: their rows go to ops.quarantine (reason = expectation name,
        stage = table), `write` gets the rest;
      - `warn`: recorded only.
check(spark, config, "bronze.events", rows_of_the_run, run_id)
    validates and records the same way for a batch already written (bronze is written by
    ingestion, gated before silver reads it); it returns the result, the caller decides.
check_all(spark, config, [Batch("bronze.events", rows, ...), ...], run_id)
    `check` for the batches of a whole gate at once: one GX context, the SQL checks of every
    batch computed once, in background threads while GX validates the batches already ready,
    and every result recorded in one commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.results import utc_now
from jobs.common.tables import latest_version
from jobs.quality.errors import SuiteError
from jobs.quality.gx_runner import GxSession, gx_dir
from jobs.quality.kinds import BatchContext, IngestedBatches
from jobs.quality.outcomes import GateResult
from jobs.quality.records import (
    FAILED,
    dropped_rows,
    flag_drops,
    kept_rows,
    write_quarantine,
    write_results,
)
from jobs.quality.suite import Suite, declared_schema, load_suite, suite_name
from jobs.quality.validate import (
    drop_conditions,
    evaluate,
    in_completion_order,
    prepare,
    sql_results,
    validate_one,
)

log = logging.getLogger(__name__)


def reference_time(logical_date: dt.date | None, now: dt.datetime) -> dt.datetime:
    """Freshness is judged at the end of the logical day when there is one (replays stay green)."""
    if logical_date is None:
        return now
    return dt.datetime.combine(logical_date + dt.timedelta(days=1), dt.time())


def _context(spark, config, table, frame, run_id, *, written, logical_date, now, ingested=None,
             tables=None, batch_where=None, versions=None) -> BatchContext:
    now = now or utc_now()
    return BatchContext(spark=spark, config=config, table=table, run_id=run_id, frame=frame, now=now,
                        reference_time=reference_time(logical_date, now), logical_date=logical_date,
                        declared=declared_schema(table), written=written, ingested=ingested, batch_where=batch_where,
                        tables=dict(tables or {}), versions={} if versions is None else versions)


def _suite(table: str, suite: Suite | str | None) -> Suite:
    if isinstance(suite, Suite):
        return suite
    return load_suite(suite or suite_name(table))


@dataclass(frozen=True)
class Batch:
    """One table's rows for check_all: already written, read at `version` when the caller pinned it."""

    table: str
    frame: DataFrame
    suite: Suite | str | None = None
    version: int | None = None   # None: the table's latest version when validated
    where: str | None = None     # frame = the table's rows where this SQL holds (kinds that scan the table use it)


def check(spark: SparkSession, config: Config, table: str, frame: DataFrame, run_id: str, *,
          suite: Suite | str | None = None, logical_date: dt.date | None = None,
          now: dt.datetime | None = None, gx_folder: str | Path | None = None, record: bool = True,
          tables: dict[str, str] | None = None, ingested: IngestedBatches | None = None) -> GateResult:
    """Validate rows already in `table`; never raises for unmet expectations.

    record=False leaves writing the results to the caller (one append for several tables);
    `tables` maps tables the checks read to temp views the caller cached (what they need of them);
    `ingested` is what the run ingested, for the kinds that judge it (ops.ingested_files).
    """
    (result,) = check_all(spark, config, [Batch(table, frame, suite)], run_id, logical_date=logical_date,
                          now=now, gx_folder=gx_folder, record=record, tables=tables, ingested=ingested)
    return result


def check_all(spark: SparkSession, config: Config, batches: list[Batch], run_id: str, *,
              logical_date: dt.date | None = None, now: dt.datetime | None = None,
              gx_folder: str | Path | None = None, record: bool = True,
              tables: dict[str, str] | None = None, ingested: IngestedBatches | None = None,
              gx: GxSession | None = None) -> list[GateResult]:
    """`check` for several batches: one GX context for all (`gx`, when the caller opened it early)."""
    started = time.monotonic()
    now = now or utc_now()
    gx = gx or GxSession(gx_dir(config, gx_folder))   # starts importing GX while Spark works below
    # Every check reads one version of each table: a batch's own where the caller pinned it.
    versions = {b.table: b.version for b in batches if b.version is not None}
    prepared = []
    for b in batches:
        suite = _suite(b.table, b.suite)
        if suite.drop_specs:
            names = ", ".join(s.name for s in suite.drop_specs)
            raise SuiteError(f"{suite.path}: {b.table} is checked after its write, so there is nothing to "
                             f"drop rows from; use fail or warn for: {names}")
        ctx = _context(spark, config, b.table, b.frame, run_id, written=True, logical_date=logical_date,
                       now=now, ingested=ingested, tables=tables, batch_where=b.where, versions=versions)
        prepared.append((suite, prepare(suite, ctx)))
    done: dict[int, GateResult] = {}
    with sql_results(prepared) as pending:
        for i in in_completion_order(pending):  # GX validates a batch while the others' SQL checks run
            b, (suite, _), ctx = batches[i], prepared[i], pending[i].ready()
            table_started = time.monotonic()
            outcomes, rows, _ = evaluate(suite, ctx, gx)
            # pinned, else the version its checks read, else (no check read the table) its version now
            version = ctx.table_version(b.table)
            result = GateResult(table=b.table, suite=suite.name, run_id=run_id, table_version=version,
                                outcomes=outcomes, rows_in=rows)
            result.seconds = time.monotonic() - table_started
            log.info(result.line())
            done[i] = result
    results = [done[i] for i in range(len(batches))]
    if record:
        write_results(spark, config, results, now)
    log.info("checked %d tables in %.1fs", len(results), time.monotonic() - started)
    return results


def promote(spark: SparkSession, config: Config, table: str, batch_df: DataFrame, run_id: str,
            write: Callable[[DataFrame], None], *, suite: Suite | str | None = None,
            source: str | None = None, logical_date: dt.date | None = None,
            now: dt.datetime | None = None, gx_folder: str | Path | None = None) -> GateResult:
    """Gate then write: see the module docstring. `write` must commit the rows it is given to `table`."""
    started = time.monotonic()
    suite = _suite(table, suite)
    if suite.table != table:
        raise SuiteError(f"{suite.path} guards {suite.table}, not {table}")
    batch = batch_df.persist(StorageLevel.MEMORY_AND_DISK)  # GX, the split and the write read it
    flagged = None
    try:
        before = latest_version(str(config.paths.table(table)))
        ctx = _context(spark, config, table, batch, run_id, written=False, logical_date=logical_date, now=now)
        outcomes, rows, ctx = validate_one(suite, ctx, GxSession(gx_dir(config, gx_folder)))
        result = GateResult(table=table, suite=suite.name, run_id=run_id, table_version=before,
                            outcomes=outcomes, rows_in=rows)
        if result.failed:
            write_results(spark, config, [result], ctx.now)
            kept = "does not exist yet" if before is None else f"stays at version {before}"
            result.raise_if_failed(f"Nothing was written: {table} {kept}, and the stage stops")

        conditions = drop_conditions(suite, outcomes, ctx)
        kept_df = batch
        if conditions:
            flagged = (ctx.frame.transform(flag_drops(conditions)).drop(*ctx.derived)
                       .persist(StorageLevel.MEMORY_AND_DISK))
            # Quarantine before the write: a crash in between loses nothing, and a retry of the
            # same target version (txnVersion) does not quarantine the rows twice.
            write_quarantine(spark, config,
                             dropped_rows(flagged, stage=table, source=source or table.partition(".")[2],
                                          batch_id=_next_version(before), run_id=run_id,
                                          quarantined_at=ctx.now),
                             table, _next_version(before))
            result.rows_dropped = flagged.where(F.size(FAILED) > 0).count()
            kept_df = kept_rows(flagged)
        write(kept_df)
        result.promoted = True
        result.table_version = latest_version(str(config.paths.table(table)))
        write_results(spark, config, [result], ctx.now)
        result.seconds = time.monotonic() - started
        log.info(result.line())
        return result
    finally:
        if flagged is not None:
            flagged.unpersist()
        batch.unpersist()


def _next_version(version: int | None) -> int:
    return 0 if version is None else version + 1
