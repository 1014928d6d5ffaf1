"""Row kinds: GX counts offending rows; `unexpected` gives the same rows to the `drop` split."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Window
from pyspark.sql import functions as F

from jobs.quality.kinds.base import (
    SAMPLE,
    Kind,
    Param,
    derived_name,
    gx_args,
    gx_module,
    quoted,
    rows_where,
    sql_ts,
)


class NotNull(Kind):
    name, scope = "not_null", "row"
    params = (Param("columns", "columns", True, help="column or list of columns that must be set"),)
    summary = "the column(s) are never null"

    def expectations(self, spec, ctx):
        return [gx_module().ExpectColumnValuesToNotBeNull(column=c, **gx_args(spec)) for c in spec["columns"]]

    def unexpected(self, spec, ctx):
        cond = F.lit(False)
        for c in spec["columns"]:
            cond = cond | F.col(c).isNull()
        return cond


class Unique(Kind):
    name, scope = "unique", "row"
    params = (Param("columns", "columns", True, help="key column(s) whose values appear once"),)
    summary = "no two rows share the key (all rows of a duplicated key are unexpected)"

    def expectations(self, spec, ctx):
        cols = spec["columns"]
        if len(cols) == 1:
            return [gx_module().ExpectColumnValuesToBeUnique(column=cols[0], **gx_args(spec))]
        return [gx_module().ExpectCompoundColumnsToBeUnique(column_list=list(cols), **gx_args(spec))]

    def unexpected(self, spec, ctx):
        cols = spec["columns"]
        # As GX: a single key ignores nulls; a compound key ignores rows whose parts are all null.
        present = F.lit(False)
        for c in cols:
            present = present | F.col(c).isNotNull()
        duplicated = F.count(F.lit(1)).over(Window.partitionBy(*cols)) > 1
        return present & duplicated


class AcceptedValues(Kind):
    name, scope = "accepted_values", "row"
    params = (Param("column", "str", True), Param("values", "values", True, help="allowed values"))
    summary = "non-null values are one of `values`"

    def expectations(self, spec, ctx):
        return [gx_module().ExpectColumnValuesToBeInSet(column=spec["column"], value_set=list(spec["values"]),
                                                  **gx_args(spec))]

    def unexpected(self, spec, ctx):
        col = F.col(spec["column"])
        return col.isNotNull() & ~col.isin(*spec["values"])


class Between(Kind):
    name, scope = "between", "row"
    params = (Param("column", "str", True), Param("min", "number"), Param("max", "number"))
    summary = "non-null numbers lie in [min, max]"

    def expectations(self, spec, ctx):
        return [gx_module().ExpectColumnValuesToBeBetween(column=spec["column"], min_value=spec["min"],
                                                    max_value=spec["max"], **gx_args(spec))]

    def unexpected(self, spec, ctx):
        # GX compares as DOUBLE; a value that does not cast is neither expected nor unexpected.
        col = F.col(spec["column"])
        value = col.cast("double")
        inside = F.lit(True)
        if spec["min"] is not None:
            inside = inside & (value >= F.lit(float(spec["min"])))
        if spec["max"] is not None:
            inside = inside & (value <= F.lit(float(spec["max"])))
        return col.isNotNull() & ~inside


class Regex(Kind):
    name, scope = "regex", "row"
    params = (Param("column", "str", True), Param("pattern", "regex", True, help="Java regex, searched"))
    summary = "non-null values contain a match of `pattern` (anchor it with ^...$ for a full match)"

    def expectations(self, spec, ctx):
        return [gx_module().ExpectColumnValuesToMatchRegex(column=spec["column"], regex=spec["pattern"],
                                                     **gx_args(spec))]

    def unexpected(self, spec, ctx):
        col = F.col(spec["column"])
        return col.isNotNull() & ~col.rlike(spec["pattern"])


class NotInFuture(Kind):
    name, scope = "not_in_future", "row"
    params = (Param("column", "str", True, help="timestamp column (or ISO-8601 text)"),
              Param("tolerance_hours", "number", False, 24, "allowed lead over processing time"))
    summary = "timestamps are at most `tolerance_hours` after the time the batch is processed"

    def limit(self, spec, ctx) -> dt.datetime:
        return ctx.now + dt.timedelta(hours=float(spec["tolerance_hours"]))

    def _checked(self, spec, ctx) -> str:
        """The timestamp column GX checks: the column itself, or it parsed from text (derived)."""
        column = spec["column"]
        return column if column in ctx.frame.columns and ctx.column_type(column) == "timestamp" \
            else derived_name(spec, "as_timestamp")

    def derived(self, spec, ctx):
        if ctx.column_type(spec["column"]) == "timestamp":
            return {}
        return {derived_name(spec, "as_timestamp"): F.expr(f"try_cast({quoted(spec['column'])} AS TIMESTAMP)")}

    def expectations(self, spec, ctx):
        limit = self.limit(spec, ctx)
        return [gx_module().ExpectColumnValuesToBeBetween(
            column=self._checked(spec, ctx), max_value=limit,
            **gx_args(spec, f"{spec['column']} is not after {limit:%Y-%m-%d %H:%M} UTC "
                            f"(processing time + {spec['tolerance_hours']} h)"))]

    def unexpected(self, spec, ctx):
        col = F.col(self._checked(spec, ctx))
        return col.isNotNull() & ~(col <= F.expr(sql_ts(self.limit(spec, ctx))))


class Expression(Kind):
    name, scope = "expression", "row"
    params = (Param("sql", "sql", True, help="Spark SQL boolean a row must satisfy (null counts as true)"),
              Param("columns", "columns", False, (), "columns quoted in the sample of failing rows"))
    summary = "each row satisfies a Spark SQL condition, like a CHECK constraint"

    def derived(self, spec, ctx):
        return {derived_name(spec, "holds"): F.expr(spec["sql"])}

    def expectations(self, spec, ctx):
        # GX ignores nulls in a value set: an unknown result passes, as in a SQL CHECK constraint.
        return [gx_module().ExpectColumnValuesToBeInSet(column=derived_name(spec, "holds"), value_set=[True],
                                                  **gx_args(spec, f"every row satisfies: {spec['sql']}"))]

    def unexpected(self, spec, ctx):
        col = F.col(derived_name(spec, "holds"))
        return col.isNotNull() & ~col


# What a direct identifier looks like in text: an email address, a phone number in E.164 (as
# silver standardises them) or as typed (+33 6 12 34 56 78, 0033..., 06.12.34.56.78), an IPv4.
# A number must stand as a word of its own: a run of digits inside a key (ck_0038372947900f0e)
# or an id is not a phone number.
_ALONE_BEFORE, _ALONE_AFTER = r"(?:^|(?<=[\s(:;,=\"'/]))", r"(?=$|[^0-9A-Za-z_])"
IDENTIFIER_PATTERNS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "phone": (_ALONE_BEFORE + r"(?:(?:\+|00)[1-9][0-9 .()-]{6,18}[0-9]|0[1-9](?:[ .-]?[0-9]{2}){4})"
              + _ALONE_AFTER),
    "ip_address": _ALONE_BEFORE + r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}" + r"(?=$|[^0-9.A-Za-z_])",
}
# A character every match contains: the regex runs only on text holding it. Java's regex search
# tries every start position, so on text that cannot match the literal test is ~5x cheaper.
REQUIRED_CHARACTER = {"email": "@", "ip_address": "."}
TEXT_TYPES = ("string", "array", "map")


class NoDirectIdentifiers(Kind):
    name, scope = "no_direct_identifiers", "row"
    params = (Param("columns", "columns", False, (),
                    "text columns to scan (default: every string, array and map column)"),)
    summary = "no text value looks like an email address, a phone number or an IP address"

    def _scanned(self, spec, ctx) -> list[str]:
        return list(spec["columns"]) or [f.name for f in ctx.frame.schema.fields
                                         if f.dataType.typeName() in TEXT_TYPES and f.name not in ctx.derived]

    def derived(self, spec, ctx):
        found = F.lit(None).cast("string")
        for column in reversed(self._scanned(spec, ctx)):
            text = F.col(column).cast("string")  # arrays and maps as their text: every element scanned
            for label, pattern in reversed(IDENTIFIER_PATTERNS.items()):
                looks = text.rlike(pattern)
                if label in REQUIRED_CHARACTER:
                    looks = text.contains(REQUIRED_CHARACTER[label]) & looks
                found = F.when(looks, F.lit(f"{label} in {column}")).otherwise(found)
        return {derived_name(spec, "found"): found}

    def columns(self, spec):
        return list(spec.params.get("columns") or ())

    def expectations(self, spec, ctx):
        return [gx_module().ExpectColumnValuesToBeNull(
            column=derived_name(spec, "found"),
            **gx_args(spec, "no value of " + (", ".join(self._scanned(spec, ctx)) or "any text column")
                      + " looks like an " + ", a ".join(IDENTIFIER_PATTERNS) + " (direct identifiers)"))]

    def unexpected(self, spec, ctx):
        return F.col(derived_name(spec, "found")).isNotNull()

    def sample(self, spec, ctx):
        # Quote where an identifier was found, never the value itself: the message must not leak it.
        found = derived_name(spec, "found")
        keys = [c for c in ctx.frame.columns[:1] if c not in ctx.derived]
        rows = rows_where(ctx.frame, self.unexpected(spec, ctx)).select(*keys, found).limit(SAMPLE).collect()
        return [{**{k: r[k] for k in keys}, "found": r[found]} for r in rows]
