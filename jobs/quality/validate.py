"""Validate one batch against its whole suite with ONE Great Expectations run.

GX costs a fixed 1-2 s per validation whatever the size, so every expectation of the suite, row
or batch level, goes into the same run; a hidden row-count expectation gives the batch size
without another Spark job. Samples of offending rows are fetched afterwards, and only for the
expectations that did not hold (GX would scan the batch once per expectation to find them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.quality.errors import SuiteError
from jobs.quality.gx_runner import run_validation
from jobs.quality.kinds import KINDS, META_KEY, BatchContext, SqlKind, result_dict
from jobs.quality.outcomes import Outcome, outcomes_from
from jobs.quality.suite import Suite, check_columns_known

ROWS_KEY = "c360_batch_rows"
DAY_TYPES = ("string", "timestamp", "date")
DAY_PARAMS = {"not_in_future": "column", "daily_volume": "date_column"}  # kinds that read a time


def check_against_frame(suite: Suite, ctx: BatchContext) -> None:
    """Problems only the batch shows (a table may declare no schema yet): a clear SuiteError."""
    for spec in suite.specs:
        check_columns_known(spec, ctx.frame.columns, ctx.table)
        if spec.kind == "expression":
            try:
                _ = ctx.frame.select(F.expr(spec["sql"])).schema  # analysis only, no Spark job
            except AnalysisException as exc:  # ParseException included
                first = str(exc).strip().splitlines()[0]
                raise SuiteError(f"{spec.where}: sql does not work on {ctx.table}: {first}") from None
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


@contextlib.contextmanager
def run_queries(suite: Suite, ctx: BatchContext):
    """Run each SQL kind's query once, each result a temp view GX validates; clean up after."""
    prefix = f"_gate_{uuid.uuid4().hex[:8]}"
    batch_view = f"{prefix}_batch"
    ctx.frame.createOrReplaceTempView(batch_view)
    results: list[DataFrame] = []
    views: dict[str, str] = {}
    try:
        for spec in suite.specs:
            kind = KINDS[spec.kind]
            if isinstance(kind, SqlKind):
                # Cached: GX counts the rows, then fetches a few; the query itself runs once.
                results.append(ctx.spark.sql(kind.query(spec, ctx).format(batch=batch_view)).persist())
                views[spec.name] = f"{prefix}_{spec.name}"
                results[-1].createOrReplaceTempView(views[spec.name])
        yield dataclasses.replace(ctx, views=views)
    finally:
        for view in (batch_view, *views.values()):
            ctx.spark.catalog.dropTempView(view)
        for df in results:
            df.unpersist()


def evaluate(suite: Suite, ctx: BatchContext, gx_folder: Path) -> tuple[list[Outcome], int, BatchContext]:
    """(outcome per expectation, rows in the batch, the context GX validated: derived columns added)."""
    from great_expectations.expectations import ExpectTableRowCountToBeBetween

    check_against_frame(suite, ctx)
    ctx = with_derived(suite, ctx)
    with run_queries(suite, ctx) as ctx:
        expectations = [ExpectTableRowCountToBeBetween(
            min_value=0, meta={ROWS_KEY: True}, description="rows in the batch (recorded with every result)")]
        for spec in suite.specs:
            expectations.extend(KINDS[spec.kind].expectations(spec, ctx))
        raw = run_validation(gx_folder, suite.name, ctx.table, expectations, ctx.frame,
                             run_name=ctx.run_id, run_time=ctx.now)
        results = [result_dict(r) for r in raw]
        failing = {r["meta"].get(META_KEY) for r in results if not r["success"] and not r["error"]}
        samples = {s.name: KINDS[s.kind].sample(s, ctx) for s in suite.specs if s.name in failing}
    rows = next((r["result"].get("observed_value") for r in results if r["meta"].get(ROWS_KEY)), None)
    return outcomes_from(suite.specs, results, samples), int(rows or 0), dataclasses.replace(ctx, views={})


def drop_conditions(suite: Suite, outcomes: list[Outcome], ctx: BatchContext) -> list[tuple[str, Column]]:
    """(name, unexpected condition) of the drop expectations that found rows to drop."""
    dropped = {o.expectation for o in outcomes if o.action == "dropped"}
    return [(s.name, KINDS[s.kind].unexpected(s, ctx)) for s in suite.drop_specs if s.name in dropped]
