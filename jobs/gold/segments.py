"""Business segments declared in YAML (segments/segments.yaml), validated on load, evaluated over
gold.customer_360, with membership history in gold.segment_membership.

    segments:
      - name: frequent_flyers_no_bag
        description: Four or more trips in a year, never an extra bag.
        condition: orders_365d >= 4 AND extra_bag_share = 0

A condition is a Spark SQL boolean expression over customer_360 columns. A condition that names
a column customer_360 does not have stops the run with the file, the segment, the unknown column
and the closest column names. A condition that is NULL for a customer means "not a member".

    python -m jobs check-segments [FILE]          # validate a segments file, no lake needed

Membership history (gold.segment_membership) is kept as validity intervals: one row per customer,
segment and continuous stretch of membership, `valid_from_date` (first as-of date it held) to
`valid_to_date` (first as-of date it no longer held; null while it still holds). The members on
day D are the rows with valid_from_date <= D and (valid_to_date is null or valid_to_date > D).
History moves forward: a run as of a date before the latest recorded one leaves it unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StructType

from jobs.common.errors import PipelineError, first_line

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SEGMENTS_COLUMN = "segments"


class SegmentError(PipelineError):
    """A segments file is malformed or a condition does not fit customer_360."""


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    condition: str


def load_segments(path: str | Path) -> tuple[Segment, ...]:
    """Read and check the file's shape (names, descriptions, conditions present); pure Python."""
    path = Path(path)
    if not path.is_file():
        raise SegmentError(f"segments file {path} does not exist (config key gold.segments_file)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SegmentError(f"{path}: not valid YAML: {exc}") from None
    items = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise SegmentError(f"{path}: expected a mapping with a 'segments:' list")
    segments, seen = [], set()
    for i, raw in enumerate(items):
        where = f"{path}: segments[{i}]"
        if not isinstance(raw, dict):
            raise SegmentError(f"{where}: each segment is a mapping with name, description, condition")
        unknown = set(raw) - {"name", "description", "condition"}
        if unknown:
            raise SegmentError(f"{where}: unknown keys {sorted(unknown)}; allowed: name, description, condition")
        name = raw.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise SegmentError(f"{where}: name {name!r} must be snake_case (a-z, 0-9, _), starting with a letter")
        if name in seen:
            raise SegmentError(f"{path}: segment '{name}' is declared twice")
        seen.add(name)
        for key in ("description", "condition"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise SegmentError(f"{path}: segment '{name}': add a non-empty {key}")
        segments.append(Segment(name, raw["description"].strip(), " ".join(raw["condition"].split())))
    return tuple(segments)


@contextlib.contextmanager
def quiet_analyzer():
    """Spark logs every failed analysis at ERROR with a stack trace: we report it ourselves."""
    logger = logging.getLogger("SQLQueryContextLogger")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _unknown_column(name: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(name, columns, n=4, cutoff=0.5)
    hint = f"; close matches: {', '.join(close)}" if close else ""
    return f"names unknown column '{name}'{hint} (columns: schemas/gold/customer_360.yaml)"


def validate_segments(spark: SparkSession, segments: tuple[Segment, ...], schema: StructType,
                      source: str | Path = "segments") -> None:
    """Every condition must resolve against `schema` (customer_360 without `segments`) to a boolean."""
    from pyspark.errors import AnalysisException

    fields = [f for f in schema.fields if f.name != SEGMENTS_COLUMN]
    empty = spark.createDataFrame([], StructType(fields))
    columns = [f.name for f in fields]
    for seg in segments:
        where = f"{source}: segment '{seg.name}': condition `{seg.condition}`"
        try:
            with quiet_analyzer():
                dtype = empty.select(F.expr(seg.condition).alias("m")).schema["m"].dataType
        except AnalysisException as exc:
            condition = exc.getCondition() or ""
            params = exc.getMessageParameters() or {}
            if condition.startswith("UNRESOLVED_COLUMN"):
                name = params.get("objectName", "?").strip("`")
                if name == SEGMENTS_COLUMN:
                    raise SegmentError(f"{where}: a condition cannot use other segments' membership") from None
                raise SegmentError(f"{where} {_unknown_column(name, columns)}") from None
            raise SegmentError(f"{where} is not valid Spark SQL over customer_360: {first_line(exc)}") from None
        if not isinstance(dtype, BooleanType):
            raise SegmentError(f"{where} gives {dtype.simpleString()}, not a boolean: write a comparison "
                               "such as `orders_365d >= 4`")


def segments_column(segments: tuple[Segment, ...]) -> Column:
    """The names of the segments whose condition holds, in declaration order (empty array: none)."""
    if not segments:
        return F.array().cast("array<string>")
    flags = [F.when(F.coalesce(F.expr(s.condition), F.lit(False)), F.lit(s.name)) for s in segments]
    return F.filter(F.array(*flags), lambda x: x.isNotNull())


def with_segments(customers: DataFrame, segments: tuple[Segment, ...]) -> DataFrame:
    return customers.withColumn(SEGMENTS_COLUMN, segments_column(segments))


# --- membership history ------------------------------------------------------------------------

def members(customer_360: DataFrame) -> DataFrame:
    """(customer_key, segment) for every membership in the table."""
    return customer_360.select("customer_key", F.explode(SEGMENTS_COLUMN).alias("segment"))


def membership_changes(history: DataFrame, current: DataFrame, as_of: dt.date) -> tuple[DataFrame, DataFrame]:
    """What a run as of `as_of` changes in the history (pure).

    history: gold.segment_membership; current: (customer_key, segment) members as of `as_of`.
    Returns (to_close, to_open):
      to_close: open intervals whose membership no longer holds (valid_to_date := as_of; an
                interval opened on as_of itself is removed instead: it never held at day's end);
      to_open:  memberships without an open interval: a new interval from as_of, or the
                interval closed on as_of reopened (a same-day re-run after data changed).
    """
    day = F.lit(as_of)
    open_rows = history.where(F.col("valid_to_date").isNull())
    cur = current.select("customer_key", "segment").distinct().withColumn("_member", F.lit(True))
    to_close = (open_rows.join(cur, ["customer_key", "segment"], "left_anti")
                .select("customer_key", "segment", "valid_from_date",
                        F.when(F.col("valid_from_date") < day, day).alias("valid_to_date")))
    reopen = history.where(F.col("valid_to_date") == day).select("customer_key", "segment", "valid_from_date")
    new = (cur.join(open_rows.select("customer_key", "segment"), ["customer_key", "segment"], "left_anti")
           .join(reopen, ["customer_key", "segment"], "left")
           .select("customer_key", "segment", F.coalesce("valid_from_date", day).alias("valid_from_date"),
                   F.lit(None).cast("date").alias("valid_to_date")))
    return to_close, new


def update_membership(spark: SparkSession, path: str, current: DataFrame, as_of: dt.date, run_id: str) -> dict:
    """Apply one as-of date's membership to the history table (MERGE; idempotent per date)."""
    from delta.tables import DeltaTable

    history = spark.read.format("delta").load(path)
    latest = history.agg(F.greatest(F.max("valid_from_date"), F.max("valid_to_date")).alias("d")).first()["d"]
    if latest is not None and as_of < latest:
        log.warning("segment_membership: as-of %s is before the latest recorded date %s; history only "
                    "moves forward, left unchanged", as_of, latest)
        return {"opened": 0, "closed": 0}
    to_close, to_open = membership_changes(history, current, as_of)
    changes = (to_close.withColumn("_action", F.lit("close"))
               .unionByName(to_open.withColumn("_action", F.lit("open")))
               .withColumn("is_current", F.col("valid_to_date").isNull())
               .withColumn("_gold_run_id", F.lit(run_id))).localCheckpoint()
    keys = (F.col("t.customer_key") == F.col("s.customer_key")) & (F.col("t.segment") == F.col("s.segment")) \
        & (F.col("t.valid_from_date") == F.col("s.valid_from_date"))
    cols = ["customer_key", "segment", "valid_from_date", "valid_to_date", "is_current", "_gold_run_id"]
    (DeltaTable.forPath(spark, path).alias("t").merge(changes.alias("s"), keys)
     .whenMatchedDelete(condition=(F.col("s._action") == "close") & F.col("s.valid_to_date").isNull())
     .whenMatchedUpdate(set={c: F.col(f"s.{c}") for c in cols[3:]})
     .whenNotMatchedInsert(condition=F.col("s._action") == "open", values={c: F.col(f"s.{c}") for c in cols})
     .execute())
    counts = changes.groupBy("_action").count().collect()
    return {("opened" if r["_action"] == "open" else "closed"): int(r["count"]) for r in counts}


def cli(args, config) -> int:
    """`python -m jobs check-segments [FILE]`: validate against customer_360's declared schema."""
    from jobs.common.contracts import table_schema
    from jobs.common.tables import spark_schema
    from jobs.gold.settings import gold_settings
    from jobs.runner import spark_for

    path = Path(args.file) if args.file else gold_settings(config).segments_file
    segments = load_segments(path)
    validate_segments(spark_for(config), segments, spark_schema(table_schema("gold.customer_360")), path)
    for s in segments:
        print(f"ok  {s.name:<28} {s.condition}")
    return 0
