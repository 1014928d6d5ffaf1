"""What every expectation kind is built from, and the protocol each kind implements."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.contracts import TableSchema
from jobs.common.tables import latest_version

SEVERITIES = ("fail", "drop", "warn")
GX_SEVERITY = {"fail": "critical", "drop": "warning", "warn": "info"}
META_KEY = "c360_expectation"  # GX meta key that maps a GX result back to our expectation
SAMPLE = 5                      # values or rows quoted in an observed value
SQL_TYPE = "unexpected_rows_expectation"


# --- what a kind is built from ----------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    name: str
    type: str            # str | number | int | columns | values | regex | sql | number_map
    required: bool = False
    default: Any = None
    help: str = ""


@dataclass(frozen=True)
class Spec:
    """One expectation of a suite file, its parameters checked and defaults filled in."""

    name: str
    kind: str
    severity: str
    why: str
    params: dict
    where: str           # "expectations/x.yaml: expectation 'n' (#3)", for error messages

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


@dataclass(frozen=True)
class IngestedBatches:
    """What one run ingested: per source, the ingestion batches it committed (empty: none)."""

    batches: dict[str, tuple[int, ...]]


@dataclass
class BatchContext:
    """Everything a kind may need to build its checks for one batch of one table."""

    spark: SparkSession
    config: Config
    table: str
    run_id: str
    frame: DataFrame                 # the batch being validated
    now: dt.datetime                 # processing time (naive UTC): "in the future" is after this
    reference_time: dt.datetime      # freshness is measured at this time (end of logical date or now)
    logical_date: dt.date | None     # the day the run is for, when the caller knows it (Airflow)
    declared: TableSchema | None     # the table's declared schema, when schemas/ has one
    written: bool                    # True when the batch is already in the table (bronze check)
    ingested: IngestedBatches | None = None   # gate_bronze: what the run ingested, for the run-level kinds
    batch_where: str | None = None   # written batch = the table's rows where this SQL holds (None: unknown)
    derived: tuple[str, ...] = ()    # columns the kinds added to `frame` (not the table's own)
    views: dict[str, str] = field(default_factory=dict)  # SQL kind -> view of its cached result
    tables: dict[str, str] = field(default_factory=dict)  # table -> cached view the caller holds
    # table -> the version its checks read (None: no table); shared by the contexts of one check_all
    versions: dict[str, int | None] = field(default_factory=dict)

    def column_type(self, name: str) -> str:
        return self.frame.schema[name].dataType.typeName()

    def table_version(self, table: str) -> int | None:
        """The version of `table` the checks read: its latest when first asked, then that one, so a
        commit landing while a gate runs cannot give two checks (or a check and its batch) two versions."""
        if table not in self.versions:
            self.versions[table] = latest_version(str(self.config.paths.table(table)))
        return self.versions[table]

    def table_ref(self, table: str) -> str:
        """Spark SQL reference to a table: the caller's cached view of it, else its Delta path at
        `table_version` (the caller checks `table_exists` first)."""
        if table in self.tables:
            return self.tables[table]
        version = self.table_version(table)
        return delta_ref(str(self.config.paths.table(table))) + ("" if version is None else f" VERSION AS OF {version}")

    def table_exists(self, table: str) -> bool:
        return table in self.tables or self.table_version(table) is not None


def delta_ref(path: str) -> str:
    return "delta.`" + path.replace("`", "``").replace("{", "{{").replace("}", "}}") + "`"


def sql_literal(value: str) -> str:
    """A Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def template_safe(sql: str) -> str:
    """SQL text to embed in a kind's query, which is str.format-ed ({batch})."""
    return sql.replace("{", "{{").replace("}", "}}")


def sql_str(value: str) -> str:
    """A SQL string literal to embed in a kind's query."""
    return template_safe(sql_literal(value))


def sql_ts(value: dt.datetime) -> str:
    return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S}'"


def quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def sql_ids(values: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ")" if values else "(NULL)"


def gx_module():
    # Imported on first use: GX takes seconds to import, and most callers never need it.
    from jobs.quality.gx_runner import gx_expectations

    return gx_expectations()


# --- the kind protocol ------------------------------------------------------------------------
class Kind:
    name: ClassVar[str]
    scope: ClassVar[str]                        # "row" (may drop) or "batch" (fail or warn)
    params: ClassVar[tuple[Param, ...]] = ()
    tables: ClassVar[tuple[str, ...] | None] = None   # restrict to these tables
    summary: ClassVar[str] = ""

    def columns(self, spec: Spec) -> list[str]:
        """Columns of the validated table the expectation reads (checked against the schema)."""
        return list(spec.params.get("columns") or ([spec.params["column"]] if "column" in spec.params else []))

    def derived(self, spec: Spec, ctx: BatchContext) -> dict[str, Column]:
        """Columns to add to the batch before validation (GX and `unexpected` both read them)."""
        return {}

    def expectations(self, spec: Spec, ctx: BatchContext) -> list:
        raise NotImplementedError

    def unexpected(self, spec: Spec, ctx: BatchContext) -> Column:
        """Row kinds: true where GX counts the row as unexpected (null means expected)."""
        raise NotImplementedError(f"{self.name} is a batch-level kind")

    def sample(self, spec: Spec, ctx: BatchContext) -> list[dict]:
        """A few offending rows (with lineage when the batch has it), for the observed value."""
        shown = list(dict.fromkeys([*self.columns(spec), *lineage_columns(ctx)])) \
            or [c for c in ctx.frame.columns if c not in ctx.derived]
        rows = rows_where(ctx.frame, self.unexpected(spec, ctx)).select(*shown).limit(SAMPLE).collect()
        return [r.asDict() for r in rows]

    def observed(self, spec: Spec, results: list[dict], sample: list[dict]) -> str:
        parts = []
        for r in results:
            n, total = r["result"].get("unexpected_count") or 0, r["result"].get("element_count") or 0
            parts.append(f"{r['kwargs'].get('column') or ','.join(r['kwargs'].get('column_list') or [])}: "
                         f"{n} of {total} rows unexpected")
        return "; ".join(parts) + (f"; e.g. {sample}" if sample else "")

    def unexpected_count(self, results: list[dict]) -> int | None:
        """Rows (column maps), or rows/days/files a SQL check selected; None when nothing is counted."""
        counts = [r["result"].get("unexpected_count") if r["type"] != SQL_TYPE
                  else r["result"].get("observed_value") for r in results]
        counts = [c for c in counts if isinstance(c, int)]
        return sum(counts) if counts else None


class SqlKind(Kind):
    """Batch kinds defined by one Spark SQL query selecting what is wrong ({batch} is the batch).

    GX would run such a query for its count and again when a failure is sampled, and these
    queries read whole tables; so the gate runs each once (validate.sql_results) and GX
    validates its result, a temp view named in ctx.views. The query text stays in the expectation's meta.
    """

    scope = "batch"

    def query(self, spec: Spec, ctx: BatchContext) -> str:
        raise NotImplementedError

    def shared_key(self, spec: Spec, ctx: BatchContext) -> tuple | None:
        """Checks of this kind with equal keys, in one gate, are computed by ONE query (`shared_query`):
        one scan of what they all read instead of one each. None: this check runs its own query."""
        return None

    def shared_query(self, members: list[tuple[Spec, BatchContext, str]]) -> tuple[str, list[list[str]] | None]:
        """(SQL, per member the column names of its own `query`, None: the shared query's) computing
        the checks `members` ((spec, ctx, batch view) of one shared_key) at once; final SQL, not a
        {batch} template. Its rows: `_check`, the member's index, then what that member's query selects."""
        raise NotImplementedError

    def describe(self, spec: Spec, ctx: BatchContext) -> str:
        raise NotImplementedError

    def expectations(self, spec, ctx):
        args = gx_args(spec, self.describe(spec, ctx))
        args["meta"]["query"] = " ".join(self.query(spec, ctx).split())
        return [gx_module().UnexpectedRowsExpectation(
            unexpected_rows_query=f"SELECT * FROM {ctx.views[spec.name]} /* the result of meta.query on {{batch}} */",
            **args)]

    def sample(self, spec, ctx):
        return [r.asDict() for r in ctx.spark.table(ctx.views[spec.name]).limit(SAMPLE).collect()]

    def observed(self, spec, results, sample):
        n = results[0]["result"].get("observed_value") or 0
        return f"{n} unexpected" + (f", e.g. {sample}" if sample else "")


def gx_args(spec: Spec, description: str | None = None) -> dict:
    """Arguments every GX expectation built from a spec carries."""
    args = {"meta": {META_KEY: spec.name, "severity": spec.severity},
            "severity": GX_SEVERITY[spec.severity]}
    if spec.why:
        args["notes"] = spec.why
    if description:
        args["description"] = description
    return args


def rows_where(frame: DataFrame, condition: Column) -> DataFrame:
    """Rows where an `unexpected` condition is true; via a column, as it may be a window (unique)."""
    return frame.withColumn("__unexpected", F.coalesce(condition, F.lit(False))).where("__unexpected") \
        .drop("__unexpected")


def lineage_columns(ctx: BatchContext) -> list[str]:
    return [c for c in ("_source_file", "_line_number") if c in ctx.frame.columns]


def derived_name(spec: Spec, what: str) -> str:
    return f"__{spec.name}__{what}"



def raise_suite(spec: Spec, problem: str) -> None:
    from jobs.quality.errors import SuiteError

    raise SuiteError(f"{spec.where}: {problem}")


def result_dict(result) -> dict:
    """A GX ExpectationValidationResult as the plain dict kinds read counts from."""
    cfg = result.expectation_config
    info = result.exception_info or {}
    if "raised_exception" not in info:  # GX nests exception info per metric in some versions
        info = next((v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")), {})
    return {
        "type": cfg.type,
        "kwargs": dict(cfg.kwargs),
        "meta": dict(cfg.meta or {}),
        "success": bool(result.success),
        "result": dict(result.result or {}),
        "error": info.get("exception_message") if info.get("raised_exception") else None,
    }


def valid_regex(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
