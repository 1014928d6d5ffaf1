"""Helpers every gold job shares: as-of cut-offs, windows, sessions, money, and the MERGE that
makes a gold table equal to a new state while rewriting only rows that changed.

Column helpers are `... -> Column`, frame helpers `DataFrame -> DataFrame` (pure); only
`default_as_of` and `merge_state` touch tables (reads: jobs.common.tables, watermarks:
jobs.common.watermarks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.common.contracts import TableSchema

# Touchpoints the customer started (a visit, a call, a purchase): the base of preferences.
INBOUND_TYPES = ("page", "screen", "track", "order", "call")
# Server-side events (reminders, points) are the company talking: not the customer's channel.
NOT_CUSTOMER_CHANNELS = ("server",)
# Campaign actions that show the customer engaging.
ENGAGED_ACTIONS = ("opened", "clicked", "converted")
PAGE_TYPES = ("page", "screen")
SESSION_CHANNELS = ("web", "app")
ORDER_COMPLETED_EVENT = "Order Completed"


# --- as of a date ------------------------------------------------------------------------------

def as_of_end(as_of: dt.date) -> Column:
    """The first instant after the as-of day (UTC): rows count when they happened before it."""
    return F.lit(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))


def default_as_of(spark: SparkSession, touchpoints_path: str) -> dt.date:
    """Without a logical date: the latest day silver.touchpoints has, never after today (UTC;
    device clocks run ahead). Every gold job uses it, so one run shares one as-of date."""
    today = dt.datetime.now(dt.UTC).date()
    row = (spark.read.format("delta").load(touchpoints_path).where(F.col("occurred_date") <= F.lit(today))
           .agg(F.max("occurred_date").alias("d")).first())
    return row["d"] if row and row["d"] else today


def upto(df: DataFrame, as_of: dt.date, column: str = "occurred_at") -> DataFrame:
    """Rows that happened on or before the as-of day."""
    return df.where(F.col(column) < as_of_end(as_of))


def in_last_days(date_col: Column, as_of: dt.date, days: int) -> Column:
    """The `days` days ending on the as-of day, both ends included (30 -> as_of-29 .. as_of)."""
    return (date_col > F.lit(as_of - dt.timedelta(days=days))) & (date_col <= F.lit(as_of))


def is_inbound(type_col: str = "touchpoint_type", channel_col: str = "channel") -> Column:
    return (F.col(type_col).isin(*INBOUND_TYPES) & F.col(channel_col).isNotNull()
            & ~F.col(channel_col).isin(*NOT_CUSTOMER_CHANNELS))


def to_eur(amount: Column, currency: Column, fx_to_eur: dict[str, float]) -> Column:
    """Amount in EUR at the configured fixed rate; null for a currency without a rate."""
    pairs = [x for code, rate in sorted(fx_to_eur.items()) for x in (F.lit(code), F.lit(rate))]
    rate = F.try_element_at(F.create_map(*pairs), F.upper(currency))
    return F.round(amount * rate, 2)


# --- sessions ----------------------------------------------------------------------------------

def sessionise(events: DataFrame, gap_minutes: int) -> DataFrame:
    """Web/app events -> one row per session (pure).

    A session is a run of one device's events (anonymous_id; the customer when there is none)
    with no gap longer than `gap_minutes`. In: customer_key, anonymous_id, customer_id, channel,
    touchpoint_type, event_name, occurred_at. Out: session_id, customer_key, anonymous_id,
    channel (of its first event), started_at, ended_at, events, page_views, has_order.
    """
    device = F.coalesce(F.col("anonymous_id"), F.concat(F.lit("customer:"), F.col("customer_id")),
                        F.concat(F.lit("key:"), F.col("customer_key")), F.lit(""))
    rows = (events.where(F.col("channel").isin(*SESSION_CHANNELS))
            .withColumn("_device", device)
            .withColumn("_key", F.coalesce(F.col("customer_key"), F.lit(""))))
    order = Window.partitionBy("_key", "_device").orderBy("occurred_at", "touchpoint_id")
    gap = F.col("occurred_at").cast("long") - F.lag(F.col("occurred_at").cast("long")).over(order)
    rows = (rows.withColumn("_new", F.when(gap.isNull() | (gap > gap_minutes * 60), 1).otherwise(0))
            .withColumn("_n", F.sum("_new").over(order.rowsBetween(Window.unboundedPreceding, 0))))
    sessions = rows.groupBy("_key", "_device", "_n").agg(
        F.min("occurred_at").alias("started_at"), F.max("occurred_at").alias("ended_at"),
        F.min_by("channel", F.struct("occurred_at", "touchpoint_id")).alias("channel"),
        F.first("customer_key", ignorenulls=True).alias("customer_key"),
        F.first("anonymous_id", ignorenulls=True).alias("anonymous_id"),
        F.count(F.lit(1)).alias("events"),
        F.sum(F.col("touchpoint_type").isin(*PAGE_TYPES).cast("int")).alias("page_views"),
        F.max(F.col("event_name") == ORDER_COMPLETED_EVENT).alias("has_order"))
    return sessions.select(
        F.sha2(F.concat_ws("|", "_key", "_device", F.col("started_at").cast("string")), 256)
        .substr(1, 32).alias("session_id"),
        "customer_key", "anonymous_id", "channel", "started_at", "ended_at",
        F.col("events").cast("bigint").alias("events"), F.col("page_views").cast("bigint").alias("page_views"),
        F.coalesce(F.col("has_order"), F.lit(False)).alias("has_order"))


# --- writing -----------------------------------------------------------------------------------

def to_schema(rows: DataFrame, schema: TableSchema, run_id: str, run_column: str = "_gold_run_id") -> DataFrame:
    """Exactly the table's columns, in order and type; the run column stamped."""
    cols = []
    for c in schema.columns:
        value = F.lit(run_id) if c.name == run_column else F.col(c.name)
        cols.append(value.cast(c.type).alias(c.name))
    return rows.select(*cols)


def union_all(frames: Iterable[DataFrame]) -> DataFrame:
    frames = list(frames)
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out
