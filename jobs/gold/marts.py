"""Marts: gold.channel_daily_kpis (per day and channel) and gold.customer_journeys (each customer's
cross-channel timeline cut into journeys).

    python -m jobs run gold_marts [--date 2026-11-21]

- channel_daily_kpis: per UTC day and channel, up to the as-of date: touchpoints, active customers
  (resolved customers with a touchpoint), web/app sessions and the share that converted (held an
  Order Completed event), orders placed and revenue of those completed as of the date (EUR, guest
  orders included), calls and average CSAT (channel call_center).
- customer_journeys: a customer's own actions (visits, app use, orders, calls) and campaign
  engagement (opens, clicks, conversions), in time order, cut where the customer is silent for
  more than JOURNEY_GAP_HOURS: "a web visit, then a call, then a booking" is one journey. The
  channel sequence collapses repeats (web, web, call_center, web -> web, call_center, web).

Both are recomputed whole up to the as-of date and MERGEd on their keys (rows that did not change
keep their `_gold_run_id`; rows that no longer exist, e.g. journeys of a merged-away customer key,
are deleted).
"""

from __future__ import annotations

import datetime as dt
import time

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.errors import JobError
from jobs.common.results import JobResult
from jobs.common.tables import ensure_table, merge_state, read_table, table_exists
from jobs.gold.common import (
    ENGAGED_ACTIONS,
    ORDER_COMPLETED_EVENT,
    default_as_of,
    is_inbound,
    sessionise,
    to_eur,
    to_schema,
    upto,
)
from jobs.gold.settings import gold_settings

JOB = "gold_marts"
KPIS = "gold.channel_daily_kpis"
JOURNEYS = "gold.customer_journeys"
JOURNEY_GAP_HOURS = 24


def channel_daily_kpis(touchpoints: DataFrame, calls: DataFrame, as_of: dt.date, gap_minutes: int,
                       fx_to_eur: dict[str, float]) -> DataFrame:
    """One row per (activity_date, channel) with activity up to the as-of date (pure)."""
    tp = upto(touchpoints, as_of).where(F.col("channel").isNotNull())
    keys = ["activity_date", "channel"]
    volume = (tp.groupBy(F.col("occurred_date").alias("activity_date"), "channel", "customer_key")
              .agg(F.count(F.lit(1)).alias("n"))                       # stage 1: per customer
              .groupBy(*keys).agg(F.sum("n").alias("touchpoints"),
                                  F.count("customer_key").alias("active_customers")))
    sessions = (sessionise(tp.where(F.col("source") == "events"), gap_minutes)
                .groupBy(F.to_date("started_at").alias("activity_date"), "channel")
                .agg(F.count(F.lit(1)).alias("sessions"), F.sum(F.col("has_order").cast("long")).alias("converted_sessions")))
    latest = F.struct("occurred_at", "touchpoint_id")
    orders = (tp.where((F.col("source") == "orders") & F.col("order_id").isNotNull())
              .groupBy("order_id").agg(F.min("occurred_at").alias("placed_at"), F.min_by("channel", latest).alias("channel"),
                                       F.max_by("event_name", latest).alias("status"),
                                       F.max_by("amount", latest).alias("amount"), F.max_by("currency", latest).alias("currency"))
              .groupBy(F.to_date("placed_at").alias("activity_date"), "channel")
              .agg(F.count(F.lit(1)).alias("orders"),
                   F.sum((F.col("status") == "completed").cast("long")).alias("completed_orders"),
                   F.round(F.sum(F.when(F.col("status") == "completed", to_eur(F.col("amount"), F.col("currency"), fx_to_eur))), 2)
                   .alias("revenue_eur")))
    call_days = (upto(calls, as_of, "started_at")
                 .groupBy(F.to_date("started_at").alias("activity_date"))
                 .agg(F.count(F.lit(1)).alias("calls"), F.round(F.avg("csat"), 3).alias("avg_csat"),
                      F.count("csat").alias("csat_responses"))
                 .withColumn("channel", F.lit("call_center")))
    out = (volume.join(sessions, keys, "full").join(orders, keys, "full").join(call_days, keys, "full"))
    for c in ("touchpoints", "active_customers", "sessions", "converted_sessions", "orders", "completed_orders",
              "calls", "csat_responses"):
        out = out.withColumn(c, F.coalesce(F.col(c), F.lit(0)))
    return (out.withColumn("revenue_eur", F.coalesce("revenue_eur", F.lit(0.0)))
            .withColumn("conversion_rate", F.when(F.col("sessions") > 0,
                                                  F.round(F.col("converted_sessions") / F.col("sessions"), 4)))
            .withColumn("as_of_date", F.lit(as_of)))


def customer_journeys(touchpoints: DataFrame, as_of: dt.date, gap_hours: int = JOURNEY_GAP_HOURS) -> DataFrame:
    """One row per journey of a resolved customer (pure)."""
    engaged = (F.col("touchpoint_type") == "campaign") & F.col("event_name").isin(*ENGAGED_ACTIONS)
    steps = upto(touchpoints, as_of).where(F.col("customer_key").isNotNull() & (is_inbound() | engaged))
    order = Window.partitionBy("customer_key").orderBy("occurred_at", "touchpoint_id")
    gap = F.col("occurred_at").cast("long") - F.lag(F.col("occurred_at").cast("long")).over(order)
    steps = (steps.withColumn("_new", F.when(gap.isNull() | (gap > gap_hours * 3600), 1).otherwise(0))
             .withColumn("_n", F.sum("_new").over(order.rowsBetween(Window.unboundedPreceding, 0))))
    converts = (((F.col("touchpoint_type") == "order") & (F.col("event_name") == "completed"))
                | (F.col("event_name") == ORDER_COMPLETED_EVENT))
    journeys = steps.groupBy("customer_key", "_n").agg(
        F.min("occurred_at").alias("started_at"), F.max("occurred_at").alias("ended_at"),
        F.count(F.lit(1)).alias("touchpoints"),
        F.array_sort(F.collect_list(F.struct("occurred_at", "touchpoint_id", "channel"))).alias("_steps"),
        F.max(converts).alias("is_converted"),
        F.min_by("channel", F.when(converts, F.struct("occurred_at", "touchpoint_id"))).alias("converting_channel"))
    channels = F.transform("_steps", lambda s: s["channel"])
    sequence = F.filter(channels, lambda x, i: F.when(i == 0, F.lit(True)).otherwise(x != F.element_at(channels, i)))
    return journeys.select(
        "customer_key",
        F.sha2(F.concat_ws("|", "customer_key", F.col("started_at").cast("string")), 256).substr(1, 32).alias("journey_id"),
        F.to_date("started_at").alias("journey_date"), "started_at", "ended_at",
        F.round((F.col("ended_at").cast("long") - F.col("started_at").cast("long")) / 60.0, 1).alias("duration_minutes"),
        "touchpoints", sequence.alias("channel_sequence"),
        F.size(F.array_distinct(channels)).alias("channel_count"),
        F.element_at(channels, 1).alias("first_channel"), F.element_at(channels, -1).alias("last_channel"),
        F.coalesce("is_converted", F.lit(False)).alias("is_converted"), "converting_channel",
        F.lit(as_of).alias("as_of_date"))


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False) -> JobResult:
    started = time.monotonic()
    settings = gold_settings(config)
    paths = {t: str(config.paths.table(t)) for t in ("silver.touchpoints", "silver.calls")}
    if not table_exists(spark, paths["silver.touchpoints"]):
        raise JobError(f"{JOB}: silver.touchpoints does not exist yet under {config.paths.lake}; "
                       "run the silver and identity stages first (make silver)")
    ensure_table(spark, config, table_schema("silver.calls"))   # call_center disabled: no calls
    touchpoints, calls = read_table(spark, paths["silver.touchpoints"]), read_table(spark, paths["silver.calls"])
    logical_date = logical_date or default_as_of(spark, paths["silver.touchpoints"])
    counts = {}
    for table, rows, keys in (
            (KPIS, channel_daily_kpis(touchpoints, calls, logical_date, settings.session_gap_minutes,
                                      settings.fx_to_eur), ["activity_date", "channel"]),
            (JOURNEYS, customer_journeys(touchpoints, logical_date), ["customer_key", "journey_id"])):
        schema = table_schema(table)
        target = ensure_table(spark, config, schema)
        state = to_schema(rows, schema, run_id).localCheckpoint()
        counts[table] = {"rows": state.count(), **merge_state(spark, target, state, keys)}
    result = JobResult(job=JOB, rows_in=sum(c["rows"] for c in counts.values()),
                       rows_out=sum(c["inserted"] + c["updated"] for c in counts.values()))
    result.seconds = time.monotonic() - started
    result.details = {"as_of": str(logical_date),
                      **{f"{t.split('.')[1]}_{k}": v for t, c in counts.items() for k, v in c.items()}}
    return result
