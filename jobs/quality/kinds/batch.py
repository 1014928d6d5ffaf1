"""Batch kinds for any table: they judge the batch as a whole and can fail or warn, never drop."""

from __future__ import annotations

import math

from pyspark.sql import functions as F

from jobs.quality.kinds.base import (
    Kind,
    Param,
    SqlKind,
    gx_args,
    gx_module,
    quoted,
    raise_suite,
    template_safe,
)


class Schema(Kind):
    name, scope = "schema", "batch"
    summary = "columns and their types are exactly the table's declared schema (schemas/)"

    def expectations(self, spec, ctx):
        from pyspark.sql.types import DataType

        if ctx.declared is None:
            raise_suite(spec, f"kind 'schema' needs a declared schema for {ctx.table} under schemas/")
        gxe = gx_module()
        expected = [c.name for c in ctx.declared.columns] + list(ctx.derived)
        out = [gxe.ExpectTableColumnsToMatchSet(column_set=expected, exact_match=True, **gx_args(spec))]
        for c in ctx.declared.columns:
            if c.name in ctx.frame.columns:  # a missing column is already reported above
                out.append(gxe.ExpectColumnValuesToBeOfType(
                    column=c.name, type_=type(DataType.fromDDL(c.type)).__name__, **gx_args(spec)))
        return out

    def sample(self, spec, ctx):
        return []

    def observed(self, spec, results, sample):
        problems = []
        for r in results:
            res = r["result"]
            if r["type"] == "expect_table_columns_to_match_set":
                details = (res.get("details") or {}).get("mismatched") or {}
                for key, label in (("unexpected", "unexpected columns"), ("missing", "missing columns")):
                    if details.get(key):
                        problems.append(f"{label} {sorted(details[key])}")
            elif not r["success"]:
                problems.append(f"{r['kwargs'].get('column')} is {res.get('observed_value')}, "
                                f"declared {r['kwargs'].get('type_')}")
        return "; ".join(problems) or f"{len(results) - 1} columns as declared"

    def unexpected_count(self, results):
        return sum(1 for r in results if not r["success"])


class References(SqlKind):
    name = "references"
    params = (Param("column", "str", True), Param("table", "str", True, help="referenced <layer>.<entity>"),
              Param("ref_column", "str", False, None, "key column there (default: same name)"),
              Param("where", "sql", False, None, "only rows of the batch where this holds"))
    summary = "non-null values exist in another table's key column (referential integrity)"

    def _keys(self, spec, value: str | None = None) -> str:
        """SQL template ({batch}): the batch's non-null keys, as column `value` when given."""
        col = quoted(spec["column"])
        return (f"SELECT {col}{f' AS {value}' if value else ''} FROM {{batch}} WHERE {col} IS NOT NULL"
                + (f" AND ({template_safe(spec['where'])})" if spec["where"] else ""))

    def _orphans(self, spec, keys: str, key: str, ref: str, select: str) -> str:
        """SQL: `select` of the rows of `keys` whose column `key` is not in the referenced table `ref`."""
        ref_col = quoted(spec["ref_column"] or spec["column"])
        return f"SELECT {select} FROM ({keys}) b LEFT ANTI JOIN {ref} r ON b.{key} = r.{ref_col}"

    def query(self, spec, ctx):
        if not ctx.table_exists(spec["table"]):
            return self._keys(spec)  # nothing can be referenced yet: every key is an orphan
        col = quoted(spec["column"])
        return self._orphans(spec, self._keys(spec), col, ctx.table_ref(spec["table"]), f"b.{col}")

    def shared_key(self, spec, ctx):
        # Several tables referencing one key (bronze sources -> bronze.crm): one anti-join, the
        # referenced table read once. Keys of one type only, so the join compares as each would.
        if not ctx.table_exists(spec["table"]):
            return None
        return (ctx.table_ref(spec["table"]), spec["ref_column"] or spec["column"], ctx.column_type(spec["column"]))

    def shared_query(self, members):
        spec, ctx, _ = members[0]
        keys = " UNION ALL ".join(f"SELECT {i} AS _check, k.value FROM ({self._keys(s, 'value').format(batch=view)}) k"
                                  for i, (s, _, view) in enumerate(members))
        ref = ctx.table_ref(spec["table"]).format()  # final SQL: no {batch} template left to format
        return self._orphans(spec, keys, "value", ref, "b._check, b.value"), [[s["column"]] for s, _, _ in members]

    def describe(self, spec, ctx):
        rows = f" (rows where {spec['where']})" if spec["where"] else ""
        return f"every {spec['column']}{rows} exists in {spec['table']}.{spec['ref_column'] or spec['column']}"

    def observed(self, spec, results, sample):
        n = results[0]["result"].get("observed_value") or 0
        keys = sorted({str(v) for r in sample for v in r.values()})
        return f"{n} rows reference a missing {spec['table']} key" + (f", e.g. {keys}" if n else "")


class Covers(SqlKind):
    name = "covers"
    params = (Param("column", "str", True), Param("table", "str", True, help="the <layer>.<entity> to cover"),
              Param("ref_column", "str", False, None, "key column there (default: same name)"))
    summary = "every key of another table appears in the batch (the reverse of references)"

    def query(self, spec, ctx):
        col, ref_col = quoted(spec["column"]), quoted(spec["ref_column"] or spec["column"])
        if not ctx.table_exists(spec["table"]):
            return f"SELECT {col} FROM {{batch}} WHERE false"  # nothing to cover yet
        return (f"SELECT r.{ref_col} FROM {ctx.table_ref(spec['table'])} r LEFT ANTI JOIN {{batch}} b "
                f"ON r.{ref_col} = b.{col} WHERE r.{ref_col} IS NOT NULL")

    def describe(self, spec, ctx):
        return f"every {spec['table']}.{spec['ref_column'] or spec['column']} has a row here"

    def observed(self, spec, results, sample):
        n = results[0]["result"].get("observed_value") or 0
        keys = sorted({str(v) for r in sample for v in r.values()})
        return f"{n} {spec['table']} keys have no row" + (f", e.g. {keys}" if n else "")


class DailyVolume(SqlKind):
    name = "daily_volume"
    params = (Param("date_column", "str", True, help="timestamp/date column (or ISO-8601 text) giving the day"),
              Param("min_ratio", "number", False, 0.5, "a day at or below this share of the trailing average fails"),
              Param("max_ratio", "number", False, None, "a day at or above this multiple fails (a day landed twice)"),
              Param("trailing_days", "int", False, 7, "days with data before it that make the average"),
              Param("min_history_days", "int", False, 3, "fewer days of history: not judged yet"))
    summary = "rows per day touched by the batch stay within ratios of the trailing daily average"

    def columns(self, spec):
        return [spec["date_column"]]

    def query(self, spec, ctx):
        return self._query([(self._daily(spec, ctx), self._judged(spec))], int(spec["trailing_days"]), ctx,
                           with_check=False)

    def shared_key(self, spec, ctx):
        # The daily volumes of several tables: one query, windows per table (one frame size, one date).
        return (int(spec["trailing_days"]), ctx.logical_date)

    def shared_query(self, members):
        spec, ctx, _ = members[0]
        parts = [(self._daily(s, c).format(batch=view), self._judged(s)) for s, c, view in members]
        return self._query(parts, int(spec["trailing_days"]), ctx, with_check=True), None

    def _daily(self, spec, ctx) -> str:
        """SQL template ({batch}): rows per day (day, n, touched: the batch has rows that day)."""
        col = quoted(spec["date_column"])
        kind = ctx.column_type(spec["date_column"])
        day = col if kind == "date" else (f"to_date({col})" if kind == "timestamp"
                                          else f"to_date(try_cast({col} AS TIMESTAMP))")
        # Days are counted over the whole table, so a day spread over several runs is judged whole.
        # A batch already written as a slice of the table (ctx.batch_where) is found in the same scan.
        # Rows without a day are one group here, sorted after every day so no window reaches it and
        # dropped by the final WHERE: a `day IS NOT NULL` filter would be pushed into the scan and
        # parse every row's time twice (text days: ~40% of this query on 2M events).
        table = ctx.table_exists(ctx.table)
        if ctx.written and table and ctx.batch_where:
            return (f"SELECT day, count(*) AS n, count_if(in_batch) > 0 AS touched FROM (SELECT {day} AS day, "
                    f"({template_safe(ctx.batch_where)}) AS in_batch FROM {ctx.table_ref(ctx.table)}) "
                    f"GROUP BY day")
        sources = [f"SELECT {day} AS day FROM {ctx.table_ref(ctx.table)}"] if table else []
        if not ctx.written or not table:
            sources.append(f"SELECT {day} AS day FROM {{batch}}")
        return (f"SELECT c.day, c.n, t.day IS NOT NULL AS touched FROM (SELECT day, count(*) AS n "
                f"FROM ({' UNION ALL '.join(sources)}) GROUP BY day) c "
                f"LEFT JOIN (SELECT DISTINCT {day} AS day FROM {{batch}}) t ON c.day = t.day")

    def _judged(self, spec) -> str:
        """SQL condition on a scored day: judged (enough history) and out of range."""
        lo, hi = float(spec["min_ratio"]), spec["max_ratio"]
        out_of_range = f"n <= {lo} * trailing_avg" + (f" OR n >= {float(hi)} * trailing_avg" if hi else "")
        return f"history_days >= {int(spec['min_history_days'])} AND ({out_of_range})"

    def _query(self, parts: list[tuple[str, str]], k: int, ctx, *, with_check: bool) -> str:
        """The days out of range of every (daily rows, judged condition) part, `_check` its index."""
        daily = " UNION ALL ".join(f"SELECT {i} AS _check, * FROM ({rows})" for i, (rows, _) in enumerate(parts))
        judged = " OR ".join(f"(_check = {i} AND {cond})" for i, (_, cond) in enumerate(parts))
        window = f"OVER (PARTITION BY _check ORDER BY day NULLS LAST ROWS BETWEEN {k} PRECEDING AND 1 PRECEDING)"
        # Days after the logical date (or, without one, the newest day) may still be filling,
        # e.g. with events whose UTC time falls after midnight: they are judged by a later run.
        logical = f"DATE '{ctx.logical_date:%Y-%m-%d}'" if ctx.logical_date else "CAST(NULL AS DATE)"
        check = "_check, " if with_check else ""
        return f"""
            WITH daily AS ({daily}),
            scored AS (SELECT _check, day, n, touched, avg(n) {window} AS trailing_avg,
                              count(n) {window} AS history_days,
                              greatest({logical}, date_sub(max(day) OVER (PARTITION BY _check), 1)) AS last_judged
                       FROM daily)
            SELECT {check}CAST(day AS STRING) AS day, n, CAST(round(trailing_avg) AS BIGINT) AS trailing_avg,
                   history_days
            FROM scored
            WHERE touched AND day <= last_judged AND ({judged})
            ORDER BY {check}day"""

    def describe(self, spec, ctx):
        bounds = f"more than {spec['min_ratio']}x" + (f" and less than {spec['max_ratio']}x" if spec["max_ratio"] else "")
        last = f"{ctx.logical_date} (the logical date)" if ctx.logical_date else "the day before the newest"
        return (f"rows per day of {spec['date_column']} are {bounds} the average of the "
                f"{spec['trailing_days']} days before; days up to {last} are judged, once "
                f"{spec['min_history_days']} days of history exist")

    def observed(self, spec, results, sample):
        n = results[0]["result"].get("observed_value") or 0
        if not n:
            return "every day touched by the batch is within range"
        days = "; ".join(f"{r['day']}: {r['n']} rows vs trailing average {r['trailing_avg']} "
                         f"({r['history_days']} days)" for r in sample)
        return f"{n} days out of range: {days}"


class Volume(Kind):
    name, scope = "volume", "batch"
    params = (Param("min_ratio", "number", False, 0.5, "this share of the trailing average or fewer rows fail"),
              Param("max_ratio", "number", False, None, "this multiple or more rows fail"),
              Param("trailing_runs", "int", False, 7, "earlier runs whose batch sizes make the average"),
              Param("min_history_runs", "int", False, 3, "fewer earlier runs: not judged yet"))
    summary = "batch rows stay within ratios of the trailing average of earlier runs (ops.quality_results)"

    def history(self, spec, ctx) -> list[int]:
        """Batch sizes of the latest earlier runs where this expectation held, newest first."""
        if not ctx.table_exists("ops.quality_results"):
            return []
        path = str(ctx.config.paths.table("ops.quality_results"))
        rows = (ctx.spark.read.format("delta").load(path)
                .where((F.col("table_name") == ctx.table) & (F.col("expectation") == spec.name)
                       & F.col("success") & (F.col("run_id") != ctx.run_id))
                .groupBy("run_id").agg(F.max("element_count").alias("rows"), F.max("validated_at").alias("at"))
                .orderBy(F.col("at").desc()).limit(int(spec["trailing_runs"])).collect())
        return [r["rows"] for r in rows if r["rows"] is not None]

    def expectations(self, spec, ctx):
        history = self.history(spec, ctx)
        if len(history) < int(spec["min_history_runs"]):
            return [gx_module().ExpectTableRowCountToBeBetween(
                min_value=0, **gx_args(spec, f"not judged yet: {len(history)} earlier runs, "
                                             f"{spec['min_history_runs']} needed"))]
        avg = sum(history) / len(history)
        # Strict ratios (as daily_volume): exactly half the usual rows is "half the usual" and fails.
        lo = math.floor(float(spec["min_ratio"]) * avg) + 1
        hi = math.ceil(float(spec["max_ratio"]) * avg) - 1 if spec["max_ratio"] else None
        ratios = f"more than {spec['min_ratio']}x" + (f" and less than {spec['max_ratio']}x" if hi is not None else "")
        return [gx_module().ExpectTableRowCountToBeBetween(
            min_value=lo, max_value=hi,
            **gx_args(spec, f"{ratios} the average batch ({avg:.0f} rows) of the last {len(history)} runs"))]

    def sample(self, spec, ctx):
        return []

    def observed(self, spec, results, sample):
        r = results[0]
        lo, hi = r["kwargs"].get("min_value"), r["kwargs"].get("max_value")
        return f"{r['result'].get('observed_value')} rows (allowed {lo} to {hi if hi is not None else 'any'})"
