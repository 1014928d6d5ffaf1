"""Validate batches against their whole suites: ONE Great Expectations run per batch.

GX costs a fixed 0.3-1 s per validation whatever the size, so every expectation of a suite, row
or batch level, goes into the same run; a hidden row-count expectation gives the batch size.
Samples of offending rows are fetched afterwards, and only for the expectations that did not
hold (GX would scan the batch once per expectation to find them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Iterator
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.common.errors import first_line
from jobs.common.logs import submit_in_context
from jobs.quality.errors import SuiteError
from jobs.quality.gx_runner import GxSession, gx_expectations
from jobs.quality.kinds import KINDS, META_KEY, BatchContext, SqlKind, result_dict
from jobs.quality.outcomes import Outcome, outcomes_from
from jobs.quality.suite import Suite, check_columns_known

log = logging.getLogger(__name__)

ROWS_KEY = "c360_batch_rows"
DAY_TYPES = ("string", "timestamp", "date")
LOCAL_RESULT_ROWS = 1000  # a SQL check result up to this size is held on the driver (_computed)
SQL_CHECK_THREADS = 2  # SQL check queries computed at once, beside GX's own Spark jobs
DAY_PARAMS = {"not_in_future": "column", "daily_volume": "date_column"}  # kinds that read a time


def check_against_frame(suite: Suite, ctx: BatchContext) -> None:
    """Problems only the batch shows (a table may declare no schema yet): a clear SuiteError."""
    for spec in suite.specs:
        check_columns_known(spec, ctx.frame.columns, ctx.table)
        if spec.kind == "expression":
            try:
                _ = ctx.frame.select(F.expr(spec["sql"])).schema  # analysis only, no Spark job
            except AnalysisException as exc:  # ParseException included
                raise SuiteError(f"{spec.where}: sql does not work on {ctx.table}: {first_line(exc)}") from None
        day_param = DAY_PARAMS.get(spec.kind)
        if day_param and ctx.column_type(spec[day_param]) not in DAY_TYPES:
            raise SuiteError(f"{spec.where}: column '{spec[day_param]}' is "
                             f"{ctx.column_type(spec[day_param])}; {spec.kind} needs a timestamp, "
                             f"date or ISO-8601 text column")


def with_derived(suite: Suite, ctx: BatchContext) -> BatchContext:
    """The context whose frame carries every derived column the suite's kinds ask for."""
    derived: dict[str, Column] = {}
    for spec in suite.specs:
        derived.update(KINDS[spec.kind].derived(spec, ctx))
    if not derived:
        return ctx
    return dataclasses.replace(ctx, frame=ctx.frame.withColumns(derived), derived=tuple(derived))


def prepare(suite: Suite, ctx: BatchContext) -> BatchContext:
    """Check the suite against the batch, then add the derived columns GX validates."""
    check_against_frame(suite, ctx)
    return with_derived(suite, ctx)


class Pending:
    """A batch's context while its SQL check results are being computed (`ready` waits for them)."""

    def __init__(self, ctx: BatchContext, computing: list[Future]):
        self.ctx, self.futures = ctx, computing

    def done(self) -> bool:
        return all(f.done() for f in self.futures)

    def ready(self) -> BatchContext:
        for future in self.futures:
            future.result()
        return self.ctx


def in_completion_order(pending: list[Pending]) -> Iterator[int]:
    """Indexes of `pending`, each batch as soon as its results are ready (batch order among the ready)."""
    left = list(range(len(pending)))
    while left:
        ready = next((i for i in left if pending[i].done()), None)
        if ready is None:
            futures.wait([f for i in left for f in pending[i].futures], return_when=futures.FIRST_COMPLETED)
            continue
        left.remove(ready)
        yield ready


@contextlib.contextmanager
def sql_results(batches: list[tuple[Suite, BatchContext]]) -> Iterator[list[Pending]]:
    """Run the SQL kinds of every batch, each result a temp view GX validates; clean up after.

    Yields a Pending per batch: its context with its `views`, ready once their results are.
    GX counts a result's rows and the gate samples a failing one's, so each result is computed
    once and held (`_computed`: results are what is wrong, so they are small). They are computed
    in background threads, in the order of the batches needing them, while the caller validates
    the batches already ready: Spark runs the checks' jobs while GX spends Python time (the GIL is
    released while a thread waits on Spark), and the single-task stages of small tables leave
    cores for other jobs. Checks of one kind with equal
    `shared_key`s (the bronze sources' references to bronze.crm, their daily volumes) are one
    query; each check's view is its rows of that result. A query that does not analyse is a suite
    problem (SuiteError naming the expectation, raised before any query runs); one that fails
    while running is left to GX to run again and report as the expectation's outcome.
    """
    if not batches:
        yield []
        return
    spark = batches[0][1].spark
    prefix = f"_gate_{uuid.uuid4().hex[:8]}"
    views: list[str] = []
    pool = ThreadPoolExecutor(max_workers=SQL_CHECK_THREADS, thread_name_prefix="gate-sql")
    try:
        shared: dict[tuple, list[tuple]] = {}  # (kind, shared key) -> [(spec, ctx, batch view, view name, batch index)]
        contexts = []
        for i, (suite, ctx) in enumerate(batches):
            batch_view = f"{prefix}_{i}_batch"
            ctx.frame.createOrReplaceTempView(batch_view)
            views.append(batch_view)
            mine = {}
            for spec in suite.specs:
                kind = KINDS[spec.kind]
                if isinstance(kind, SqlKind):
                    mine[spec.name] = f"{prefix}_{i}_{spec.name}"
                    key = kind.shared_key(spec, ctx)
                    shared.setdefault((spec.kind, key) if key is not None else (mine[spec.name],), []).append(
                        (spec, ctx, batch_view, mine[spec.name], i))
            contexts.append(dataclasses.replace(ctx, views=mine))
        computations = []   # (batches needing it, analysed query, [(view, column names or None)])
        for members in shared.values():
            if len(members) == 1:
                spec, ctx, batch_view, view, i = members[0]
                query = _analysed(spark, KINDS[spec.kind].query(spec, ctx).format(batch=batch_view), spec, ctx.table)
                computations.append(({i}, query, [(view, None)]))
            else:
                query, member_views = _shared(spark, [m[:4] for m in members])
                computations.append(({m[4] for m in members}, query, member_views))
        waits: list[list[Future]] = [[] for _ in batches]
        for needed_by, query, member_views in sorted(computations, key=lambda c: min(c[0])):
            views.extend(view for view, _ in member_views)
            future = submit_in_context(pool, _computed_views, query, member_views)
            for i in needed_by:
                waits[i].append(future)
        yield [Pending(ctx, wait) for ctx, wait in zip(contexts, waits, strict=True)]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # no view is created after the drops below
        for view in views:
            spark.catalog.dropTempView(view)


def _computed_views(query: DataFrame, member_views: list[tuple[str, list[str] | None]]) -> None:
    """Compute `query` and register its result: whole as a check's own view, or (a query shared by
    several checks) each check's part of it."""
    result = _computed(query)
    if len(member_views) == 1:
        result.createOrReplaceTempView(member_views[0][0])
        return
    for index, (view, columns) in enumerate(member_views):
        part = result.where(F.col("_check") == index).drop("_check")
        (part.toDF(*columns) if columns else part).createOrReplaceTempView(view)


def _shared(spark, members: list[tuple]) -> tuple[DataFrame, list[tuple[str, list[str] | None]]]:
    """(the one query of checks sharing a key, analysed; [(member view, its column names or None)])."""
    kind = KINDS[members[0][0].kind]
    sql, columns = kind.shared_query([(spec, ctx, batch_view) for spec, ctx, batch_view, _ in members])
    columns = columns or [None] * len(members)
    try:
        query = spark.sql(sql)
    except AnalysisException as exc:
        for spec, ctx, batch_view, _ in members:  # the member whose own query does not work is named
            _analysed(spark, kind.query(spec, ctx).format(batch=batch_view), spec, ctx.table)
        raise SuiteError(f"{'; '.join(spec.where for spec, *_ in members)}: their shared {kind.name} query "
                         f"does not work: {first_line(exc)}") from None
    return query, [(view, column) for (_, _, _, view), column in zip(members, columns, strict=True)]


def _analysed(spark, sql: str, spec, table: str) -> DataFrame:
    """The check's query, analysed (Spark resolves names and types now, reads nothing)."""
    try:
        return spark.sql(sql)
    except AnalysisException as exc:  # ParseException included: a parameter that does not fit the data
        raise SuiteError(f"{spec.where}: its {spec.kind} query does not work on {table}: "
                         f"{first_line(exc)}") from None


def _computed(query: DataFrame) -> DataFrame:
    """The query's result, computed now; the query itself when it fails (GX reports the error).

    A result of at most LOCAL_RESULT_ROWS rows (a check that holds has none) is kept as a local
    relation: GX's count of it then runs over rows the driver holds, not a checkpoint's blocks
    (a bronze gate's eleven counts, on the thread that validates: 0.7 s against 2.0 s). A larger
    one, a check failing on many rows, is computed again into a local checkpoint (Spark frees it
    once unreferenced)."""
    try:
        rows = query.limit(LOCAL_RESULT_ROWS + 1).toArrow()
        if rows.num_rows <= LOCAL_RESULT_ROWS:
            return query.sparkSession.createDataFrame(rows, query.schema)  # from Arrow: a local relation
        return query.localCheckpoint()
    except Exception as exc:  # noqa: BLE001 - GX runs the query again and reports the error as the outcome
        log.info("a SQL check failed ahead of validation (GX will report it): %s", first_line(exc, 200))
        return query


def evaluate(suite: Suite, ctx: BatchContext, gx: GxSession) -> tuple[list[Outcome], int, BatchContext]:
    """(outcome per expectation, rows in the batch, the context GX validated).

    `ctx` comes from `prepare` and, when the suite has SQL kinds, from `sql_results`.
    """
    expectations = [gx_expectations().ExpectTableRowCountToBeBetween(
        min_value=0, meta={ROWS_KEY: True}, description="rows in the batch (recorded with every result)")]
    for spec in suite.specs:
        expectations.extend(KINDS[spec.kind].expectations(spec, ctx))
    raw = gx.validate(suite.name, ctx.table, expectations, ctx.frame, run_name=ctx.run_id, run_time=ctx.now)
    results = [result_dict(r) for r in raw]
    failing = {r["meta"].get(META_KEY) for r in results if not r["success"] and not r["error"]}
    samples = {s.name: KINDS[s.kind].sample(s, ctx) for s in suite.specs if s.name in failing}
    rows = next((r["result"].get("observed_value") for r in results if r["meta"].get(ROWS_KEY)), None)
    return outcomes_from(suite.specs, results, samples), int(rows or 0), ctx


def validate_one(suite: Suite, ctx: BatchContext, gx: GxSession) -> tuple[list[Outcome], int, BatchContext]:
    """prepare, sql_results and evaluate for a single batch (the context returned has no views)."""
    with sql_results([(suite, prepare(suite, ctx))]) as (pending,):
        outcomes, rows, ctx = evaluate(suite, pending.ready(), gx)
    return outcomes, rows, dataclasses.replace(ctx, views={})


def drop_conditions(suite: Suite, outcomes: list[Outcome], ctx: BatchContext) -> list[tuple[str, Column]]:
    """(name, unexpected condition) of the drop expectations that found rows to drop."""
    dropped = {o.expectation for o in outcomes if o.action == "dropped"}
    return [(s.name, KINDS[s.kind].unexpected(s, ctx)) for s in suite.drop_specs if s.name in dropped]
