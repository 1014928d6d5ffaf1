"""gold.service_alerts: travellers departing soon who have an unresolved problem, with the facts
front-line staff (gate agents, cabin crew) need to recover the relationship, and no direct
identifiers: "the call center tells the cabin crew".

    python -m jobs run gold_service_alerts [--date 2026-11-21]

- Departure: a flight item (silver.order_items, category flight, attributes.departure_date) of an
  order whose latest status is not cancelled or refunded, departing from the as-of date up to
  `gold.service_alerts.horizon_days` days after it.
- Problem, in the `lookback_days` days up to the as-of date:
  - complaint_call: a call whose reason is one of `complaint_reasons` and whose outcome is not
    resolved;
  - low_csat_call: a call rated at most `low_csat`;
  - cancelled_order / refunded_order: an order that turned cancelled or refunded.
- One row per upcoming flight order of a customer with a problem. The table is the current list:
  each run replaces it (MERGE on order_id, so unchanged alerts keep their run id).
"""

from __future__ import annotations

import datetime as dt
import time

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs import registry
from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.results import JobResult
from jobs.common.tables import ensure_table, merge_state, read_table, table_exists
from jobs.gold.common import default_as_of, to_schema
from jobs.gold.settings import AlertSettings, gold_settings

JOB = "gold_service_alerts"
INPUTS = registry.get_job(JOB).inputs
(TABLE,) = registry.get_job(JOB).outputs
LOST_ORDERS = ("cancelled", "refunded")


def _within(col: Column, start: dt.date, end: dt.date) -> Column:
    day = F.to_date(col)
    return (day >= F.lit(start)) & (day <= F.lit(end))


def upcoming_departures(orders: DataFrame, items: DataFrame, as_of: dt.date, horizon_days: int) -> DataFrame:
    """customer_key, order_id, departure_date, origin, destination, cabin: flights of live orders
    departing from the date up to horizon_days after it."""
    attr = lambda name: F.get_json_object("attributes", f"$.{name}")  # noqa: E731
    flights = (items.where(F.col("category") == "flight")
               .select("order_id", F.to_date(attr("departure_date")).alias("departure_date"),
                       attr("origin").alias("origin"), attr("destination").alias("destination"),
                       attr("cabin").alias("cabin")))
    live = orders.where(F.col("customer_key").isNotNull() & ~F.col("status").isin(*LOST_ORDERS)
                        & (F.to_date("ordered_at") <= F.lit(as_of))).select("order_id", "customer_key")
    return (live.join(flights, "order_id")
            .where(F.col("departure_date").between(F.lit(as_of), F.lit(as_of + dt.timedelta(days=horizon_days))))
            .dropDuplicates(["order_id"]))


def open_problems(orders: DataFrame, calls: DataFrame, as_of: dt.date, settings: AlertSettings) -> DataFrame:
    """customer_key, kind, at, reason, outcome, csat: each problem in the lookback window."""
    start = as_of - dt.timedelta(days=settings.lookback_days - 1)
    recent_calls = calls.where(F.col("customer_key").isNotNull() & _within(F.col("started_at"), start, as_of))
    complaint = (F.col("reason").isin(*settings.complaint_reasons)
                 & ~F.coalesce(F.col("outcome") == "resolved", F.lit(False)))
    call_problems = (recent_calls
                     .withColumn("kinds", F.filter(F.array(F.when(complaint, F.lit("complaint_call")),
                                                           F.when(F.col("csat") <= settings.low_csat,
                                                                  F.lit("low_csat_call"))),
                                                   lambda k: k.isNotNull()))
                     .select("customer_key", F.explode("kinds").alias("kind"), F.col("started_at").alias("at"),
                             "reason", "outcome", "csat"))
    order_problems = (orders.where(F.col("customer_key").isNotNull() & F.col("status").isin(*LOST_ORDERS)
                                   & _within(F.col("status_at"), start, as_of))
                      .select("customer_key", F.concat(F.col("status"), F.lit("_order")).alias("kind"),
                              F.col("status_at").alias("at"), F.lit(None).cast("string").alias("reason"),
                              F.lit(None).cast("string").alias("outcome"), F.lit(None).cast("int").alias("csat")))
    return call_problems.unionByName(order_problems)


def service_alerts(departures: DataFrame, problems: DataFrame, as_of: dt.date) -> DataFrame:
    """One row per upcoming flight order of a customer with a problem: the flight, the problems and
    the latest problem call's facts, with a one-line summary for staff (pure)."""
    latest_call = Window.partitionBy("customer_key").orderBy(F.desc("at"))
    calls = (problems.where(F.col("kind").endswith("_call"))
             .withColumn("_n", F.row_number().over(latest_call)).where("_n = 1")
             .select("customer_key", F.col("at").alias("last_problem_call_at"),
                     F.col("reason").alias("last_problem_call_reason"),
                     F.col("outcome").alias("last_problem_call_outcome"),
                     F.col("csat").alias("last_problem_call_csat")))
    per_customer = problems.groupBy("customer_key").agg(
        F.array_sort(F.collect_set("kind")).alias("problems"), F.count(F.lit(1)).alias("problem_count"),
        F.max(F.when(F.col("kind").endswith("_order"), F.col("at"))).alias("last_lost_order_at"))
    call_text = F.when(F.col("last_problem_call_at").isNotNull(), F.format_string(
        "called %s about %s (%s, CSAT %s)", F.date_format("last_problem_call_at", "yyyy-MM-dd"),
        F.coalesce("last_problem_call_reason", F.lit("?")), F.coalesce("last_problem_call_outcome", F.lit("?")),
        F.coalesce(F.col("last_problem_call_csat").cast("string"), F.lit("none"))))
    order_text = F.when(F.col("last_lost_order_at").isNotNull(), F.format_string(
        "an order cancelled or refunded on %s", F.date_format("last_lost_order_at", "yyyy-MM-dd")))
    return (departures.join(per_customer, "customer_key").join(calls, "customer_key", "left")
            .withColumn("days_to_departure", F.datediff("departure_date", F.lit(as_of)))
            .withColumn("summary", F.concat_ws("; ", call_text, order_text))
            .withColumn("as_of_date", F.lit(as_of)))


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False) -> JobResult:
    started = time.monotonic()
    settings = gold_settings(config).service_alerts
    frames = {t: read_table(spark, ensure_table(spark, config, table_schema(t))) for t in INPUTS}
    touchpoints = str(config.paths.table("silver.touchpoints"))
    as_of = logical_date or (default_as_of(spark, touchpoints) if table_exists(spark, touchpoints)
                             else dt.datetime.now(dt.UTC).date())
    departures = upcoming_departures(frames["silver.orders"], frames["silver.order_items"], as_of,
                                     settings.horizon_days)
    problems = open_problems(frames["silver.orders"], frames["silver.calls"], as_of, settings)
    schema = table_schema(TABLE)
    state = to_schema(service_alerts(departures, problems, as_of), schema, run_id).localCheckpoint()
    target = ensure_table(spark, config, schema)
    merged = merge_state(spark, target, state, ["order_id"])
    result = JobResult(job=JOB, rows_in=state.count(), rows_out=merged["inserted"] + merged["updated"],
                       seconds=time.monotonic() - started)
    result.details = {"as_of": str(as_of), **merged}
    return result
