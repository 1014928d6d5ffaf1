"""gold.customer_360: one row per customer_key as of a date, and its segments' history.

    python -m jobs run gold_customer_360 [--date 2026-11-21] [--full-rebuild]

As of D means: only silver rows that happened before D + 1 day (UTC) count; windows such as
`sessions_30d` are the 30 days ending on D. Without --date, D is the latest day silver has
touchpoints for (never after today).

Pure transformations build each group of columns per customer (identity, consent, value and
RFM, behaviour, ancillaries, calls, campaigns), aggregating in stages (per customer and channel,
hour or day first, then per customer) and joining the groups on customer_key. `run()` reads
silver at pinned Delta versions and recomputes only the customers touched since the last run:

- rows that changed in silver since the Delta versions the last run read (new rows, rows
  re-attributed by an identity merge or split, updated or deleted rows), found by comparing the
  data files one snapshot has and the other has not (rows merely copied by a rewrite cancel out);
- when the as-of date moves forward, customers with activity on days entering the as-of range
  or leaving a 30/90/365-day window; every other row only gets its as-of columns (as_of_date,
  rfm_t_days) moved on.

`--full-rebuild` recomputes everyone; both give the same table (tests/integration/test_gold_*).
The new state is MERGEd on customer_key: changed rows updated, new inserted, vanished (merged
away) deleted; unchanged rows keep their `_gold_run_id`. Versions read are recorded per input in
ops.job_watermarks (watermark = Delta version). Segments are evaluated for every row each run.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, replace

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.errors import JobError, first_line
from jobs.common.results import JobResult
from jobs.common.tables import (
    comparable,
    ensure_table,
    latest_version,
    merge_state,
    read_table,
    spark_schema,
    table_exists,
)
from jobs.common.watermarks import read_watermarks, save_watermarks
from jobs.gold.common import (
    ENGAGED_ACTIONS,
    PAGE_TYPES,
    as_of_end,
    default_as_of,
    in_last_days,
    is_inbound,
    sessionise,
    to_eur,
    to_schema,
    union_all,
    upto,
)
from jobs.gold.segments import (
    Segment,
    load_segments,
    members,
    update_membership,
    validate_segments,
    with_segments,
)
from jobs.gold.settings import GoldSettings, gold_settings

log = logging.getLogger(__name__)

JOB = "gold_customer_360"
TABLE = "gold.customer_360"
MEMBERSHIP = "gold.segment_membership"
CONSENTS = (("marketing", "email"), ("marketing", "sms"), ("marketing", "push"), ("marketing", "phone"),
            ("personalization", "any"), ("analytics", "any"))
WINDOWS = (30, 90, 365)       # every rolling window a column uses, in days
SEATS = ("window", "aisle")
REQUIRED = ("silver.customers", "silver.touchpoints")   # written by identity resolution whatever the sources
# silver input -> time column of its rows (None: rows without a time of their own)
INPUTS = {
    "silver.customers": "first_seen_at",
    "silver.touchpoints": "occurred_at",
    "silver.order_items": None,
    "silver.calls": "started_at",
    "silver.campaign_events": "occurred_at",
    "silver.consents": "occurred_at",
}


@dataclass(frozen=True)
class Silver:
    """The silver frames customer_360 reads (any subset of rows: all, or the touched customers').
    `everyone`: every customer, whatever the subset: a household counts all who live there."""
    customers: DataFrame
    touchpoints: DataFrame
    order_items: DataFrame
    calls: DataFrame
    campaign_events: DataFrame
    consents: DataFrame
    everyone: DataFrame | None = None

    def __post_init__(self):
        if self.everyone is None:
            object.__setattr__(self, "everyone", self.customers)

    def frames(self) -> dict[str, DataFrame]:
        """silver table name -> frame, in INPUTS order."""
        return dict(zip(INPUTS, (self.customers, self.touchpoints, self.order_items, self.calls,
                                 self.campaign_events, self.consents), strict=True))

    def only(self, keys: DataFrame) -> Silver:
        """The rows of these customers (keys: one column customer_key); order items follow their orders."""
        def semi(df: DataFrame) -> DataFrame:
            return df.join(keys, "customer_key", "left_semi")
        return replace(self, customers=semi(self.customers), touchpoints=semi(self.touchpoints),
                       calls=semi(self.calls), campaign_events=semi(self.campaign_events),
                       consents=semi(self.consents))


# --- identity -----------------------------------------------------------------------------------

def identity(customers: DataFrame, as_of: dt.date) -> DataFrame:
    """The customers that existed as of the date (first seen before its end), with CRM identity."""
    counts = F.col("identifier_counts")

    def count(kind: str) -> Column:
        return F.coalesce(F.try_element_at(counts, F.lit(kind)), F.lit(0)).cast("int")

    return (customers.where(F.col("first_seen_at").isNull() | (F.col("first_seen_at") < as_of_end(as_of)))
            .select("customer_key", "primary_customer_id",
                    F.coalesce("is_member", F.lit(False)).alias("is_member"), "loyalty_tier", "country",
                    count("customer_id").alias("crm_id_count"), count("anonymous_id").alias("anonymous_id_count"),
                    count("email").alias("email_count"), count("phone").alias("phone_count")))


# --- household ----------------------------------------------------------------------------------

def households(everyone: DataFrame, as_of: dt.date) -> DataFrame:
    """Per customer with an address: the customers living there as of the date (itself included)
    and the birth year of the youngest of them (a parent's grown children show as a gap)."""
    present = everyone.where((F.col("first_seen_at").isNull() | (F.col("first_seen_at") < as_of_end(as_of)))
                             & F.col("household_hash").isNotNull())
    homes = present.groupBy("household_hash").agg(
        F.count(F.lit(1)).cast("int").alias("household_size"),
        F.max("birth_year").alias("household_youngest_birth_year"))
    return present.select("customer_key", "household_hash").join(homes, "household_hash").drop("household_hash")


def with_household_mates(keys: DataFrame, customers: DataFrame, homes: DataFrame | None = None) -> DataFrame:
    """`keys` and every customer sharing a household with one of them (or living in `homes`, the
    household_hash of rows that changed: a customer who moved out changes the old home's size)."""
    touched_homes = customers.join(keys, "customer_key", "left_semi").select("household_hash")
    if homes is not None:
        touched_homes = touched_homes.unionByName(homes.select("household_hash"))
    touched_homes = touched_homes.where(F.col("household_hash").isNotNull()).distinct()
    mates = customers.join(touched_homes, "household_hash", "left_semi").select("customer_key")
    return keys.unionByName(mates).distinct()


# --- consent ------------------------------------------------------------------------------------

def consent_state(consents: DataFrame, as_of: dt.date) -> DataFrame:
    """Per customer, the latest choice as of the date per purpose and channel (no choice: false)."""
    latest = (upto(consents, as_of).where(F.col("customer_key").isNotNull())
              .groupBy("customer_key", "purpose", "channel")
              .agg(F.max_by("status", F.struct("occurred_at", "consent_event_id")).alias("status"),
                   F.max("occurred_at").alias("at")))
    flags = [F.max((F.col("purpose") == p) & (F.col("channel") == c) & (F.col("status") == "granted"))
             .alias(f"consent_{p}_{c}") for p, c in CONSENTS]
    return latest.groupBy("customer_key").agg(*flags, F.max("at").alias("consent_updated_at"))


# --- orders, value and RFM ----------------------------------------------------------------------

def order_states(touchpoints: DataFrame, order_items: DataFrame, as_of: dt.date,
                 fx_to_eur: dict[str, float]) -> DataFrame:
    """One row per order placed by the date, with its status as of the date (pure).

    Order touchpoints hold every status an order went through (completed, then maybe cancelled
    or refunded), so a later refund does not rewrite an earlier as-of date. Out: order_id,
    customer_key, channel, placed_at, purchase_date, status, amount_eur, has_flight,
    has_extra_bag, window_seats, aisle_seats, categories (its items' distinct categories, sorted),
    passengers (the flight item's quantity; null without a flight), children (how many of them
    the booking's passenger list counts as children; null when it does not say), cabin (the
    flight's). Models read the last four.
    """
    latest = F.struct("occurred_at", "touchpoint_id")
    orders = (upto(touchpoints.where((F.col("source") == "orders") & F.col("order_id").isNotNull()), as_of)
              .groupBy("order_id").agg(
                  F.max_by("customer_key", latest).alias("customer_key"),
                  F.min_by("channel", latest).alias("channel"),
                  F.min("occurred_at").alias("placed_at"),
                  F.max_by("event_name", latest).alias("status"),
                  F.max_by("amount", latest).alias("amount"),
                  F.max_by("currency", latest).alias("currency")))
    items = order_items.groupBy("order_id").agg(
        F.max(F.col("category") == "flight").alias("has_flight"),
        F.max(F.col("category") == "extra_bag").alias("has_extra_bag"),
        *[F.sum((F.col("seat") == s).cast("int")).alias(f"{s}_seats") for s in SEATS],
        F.array_sort(F.collect_set("category")).alias("categories"),
        F.max(F.when(F.col("category") == "flight", F.col("quantity"))).alias("passengers"),
        F.max(F.when(F.col("category") == "flight", F.get_json_object("attributes", "$.passengers.child")
                     .cast("int"))).alias("children"),
        F.max(F.when(F.col("category") == "flight", F.get_json_object("attributes", "$.cabin"))).alias("cabin"))
    return (orders.where(F.col("customer_key").isNotNull()).join(items, "order_id", "left")
            .select("order_id", "customer_key", "channel", "placed_at",
                    F.to_date("placed_at").alias("purchase_date"), "status",
                    to_eur(F.col("amount"), F.col("currency"), fx_to_eur).alias("amount_eur"),
                    F.coalesce("has_flight", F.lit(False)).alias("has_flight"),
                    F.coalesce("has_extra_bag", F.lit(False)).alias("has_extra_bag"),
                    *[F.coalesce(f"{s}_seats", F.lit(0)).alias(f"{s}_seats") for s in SEATS],
                    F.coalesce("categories", F.array().cast("array<string>")).alias("categories"),
                    "passengers", "children", "cabin"))


def value(orders: DataFrame, as_of: dt.date) -> DataFrame:
    """Order counts, revenue (completed orders), refunds and ancillary habits per customer."""
    done = F.col("status") == "completed"
    flights = done & F.col("has_flight")

    def n(cond: Column) -> Column:
        return F.sum(cond.cast("long"))

    agg = orders.groupBy("customer_key").agg(
        F.count(F.lit(1)).alias("orders_count"), n(done).alias("completed_orders"),
        n(F.col("status") == "cancelled").alias("cancelled_orders"),
        n(done & in_last_days(F.col("purchase_date"), as_of, 365)).alias("orders_365d"),
        F.round(F.sum(F.when(done, F.col("amount_eur"))), 2).alias("revenue_eur"),
        n(F.col("status") == "refunded").alias("refunds_count"),
        F.round(F.sum(F.when(F.col("status") == "refunded", F.col("amount_eur"))), 2).alias("refunds_amount_eur"),
        F.min(F.when(done, F.col("placed_at"))).alias("first_order_at"),
        F.max(F.when(done, F.col("placed_at"))).alias("last_order_at"),
        n(flights).alias("flight_orders"), n(flights & F.col("has_extra_bag")).alias("bag_flight_orders"),
        *[F.sum(F.when(done, F.col(f"{s}_seats"))).alias(f"{s}_seats") for s in SEATS])
    window, aisle = F.coalesce("window_seats", F.lit(0)), F.coalesce("aisle_seats", F.lit(0))
    return agg.select(
        "customer_key", "orders_count", "completed_orders", "cancelled_orders", "orders_365d",
        F.coalesce("revenue_eur", F.lit(0.0)).alias("revenue_eur"),
        F.when(F.col("completed_orders") > 0, F.round(F.coalesce("revenue_eur", F.lit(0.0)) / F.col("completed_orders"), 2))
        .alias("avg_order_value_eur"),
        "refunds_count", F.coalesce("refunds_amount_eur", F.lit(0.0)).alias("refunds_amount_eur"),
        "first_order_at", "last_order_at", "flight_orders",
        F.when(F.col("flight_orders") > 0, F.round(F.col("bag_flight_orders") / F.col("flight_orders"), 4))
        .alias("extra_bag_share"),
        F.when(window > aisle, "window").when(aisle > window, "aisle").alias("preferred_seat"))


def rfm(orders: DataFrame, as_of: dt.date) -> DataFrame:
    """The buy-till-you-die summary per customer, from completed orders placed by the date.

    Purchases are grouped by UTC day (several orders in a day are one purchase, their values
    summed). frequency = purchase days - 1 (repeat days); recency = days from the first to the
    last purchase day; T = days from the first purchase day to the as-of date; monetary = mean
    value of the repeat purchase days (the first day excluded; 0 when frequency is 0).
    Refunded and cancelled orders are not purchases.
    """
    days = (orders.where(F.col("status") == "completed")
            .groupBy("customer_key", "purchase_date")
            .agg(F.sum(F.coalesce("amount_eur", F.lit(0.0))).alias("day_value")))
    per = days.groupBy("customer_key").agg(
        F.min("purchase_date").alias("rfm_first_purchase_date"),
        F.max("purchase_date").alias("rfm_last_purchase_date"),
        F.count(F.lit(1)).alias("purchase_days"), F.sum("day_value").alias("total_value"),
        F.min_by("day_value", "purchase_date").alias("first_day_value"))
    frequency = (F.col("purchase_days") - 1).cast("int")
    return per.select(
        "customer_key", "rfm_first_purchase_date", "rfm_last_purchase_date",
        frequency.alias("rfm_frequency"),
        F.datediff("rfm_last_purchase_date", "rfm_first_purchase_date").alias("rfm_recency_days"),
        F.when(frequency > 0, F.round((F.col("total_value") - F.col("first_day_value")) / frequency, 2))
        .otherwise(F.lit(0.0)).alias("rfm_monetary_eur"))


# --- behaviour ----------------------------------------------------------------------------------

def behaviour(touchpoints: DataFrame, as_of: dt.date, gap_minutes: int) -> DataFrame:
    """Channels, preferences, last touch per channel, sessions and page views (per customer)."""
    tp = upto(touchpoints, as_of).where(F.col("customer_key").isNotNull())
    engaged = (F.col("touchpoint_type") == "campaign") & F.col("event_name").isin(*ENGAGED_ACTIONS)
    pages = F.col("touchpoint_type").isin(*PAGE_TYPES)
    day = F.col("occurred_date")
    # Stage 1: per customer, channel and hour of day (far fewer rows than touchpoints).
    stage = (tp.withColumn("hour", F.hour("occurred_at"))
             .groupBy("customer_key", "channel", "hour").agg(
                 F.count(F.lit(1)).alias("n"), F.sum(is_inbound().cast("long")).alias("n_inbound"),
                 F.sum((is_inbound() | engaged).cast("long")).alias("n_contact"),
                 F.min("occurred_at").alias("first_at"), F.max("occurred_at").alias("last_at"),
                 F.max(F.when(is_inbound(), F.col("occurred_at"))).alias("last_inbound_at"),
                 F.max(F.when(is_inbound() | engaged, F.col("occurred_at"))).alias("last_contact_at"),
                 *[F.sum((pages & in_last_days(day, as_of, w)).cast("long")).alias(f"page_views_{w}d")
                   for w in (30, 90)]))
    by_channel = (stage.where(F.col("channel").isNotNull()).groupBy("customer_key", "channel").agg(
        F.sum("n_inbound").alias("n_inbound"), F.max("last_at").alias("last_at"),
        F.max("last_inbound_at").alias("last_inbound_at"))
        .groupBy("customer_key").agg(
            F.array_sort(F.collect_list("channel")).alias("channels_used"),
            F.map_from_entries(F.array_sort(F.collect_list(F.struct("channel", "last_at")))).alias("last_touch_at"),
            F.max_by("channel", F.when(F.col("n_inbound") > 0, F.struct("n_inbound", "last_inbound_at", "channel")))
            .alias("preferred_channel")))
    by_hour = (stage.groupBy("customer_key", "hour").agg(
        F.sum("n_contact").alias("n_contact"), F.max("last_contact_at").alias("last_contact_at"))
        .groupBy("customer_key").agg(
            F.max_by("hour", F.when(F.col("n_contact") > 0, F.struct("n_contact", "last_contact_at", "hour")))
            .alias("preferred_contact_hour")))
    overall = stage.groupBy("customer_key").agg(
        F.min("first_at").alias("first_seen_at"), F.max("last_at").alias("last_seen_at"),
        *[F.sum(f"page_views_{w}d").alias(f"page_views_{w}d") for w in (30, 90)])
    sessions = (sessionise(tp.where(F.col("source") == "events"), gap_minutes)
                .withColumn("d", F.to_date("started_at"))
                .groupBy("customer_key").agg(
                    *[F.sum(in_last_days(F.col("d"), as_of, w).cast("long")).alias(f"sessions_{w}d")
                      for w in (30, 90)]))
    return (overall.join(by_channel, "customer_key", "left").join(by_hour, "customer_key", "left")
            .join(sessions, "customer_key", "left"))


def calls(calls_df: DataFrame, as_of: dt.date) -> DataFrame:
    """Call-center contacts over 30 days, and the latest call's reason and latest CSAT given."""
    latest = F.struct("started_at", "call_id")
    return (upto(calls_df, as_of, "started_at").where(F.col("customer_key").isNotNull())
            .groupBy("customer_key").agg(
                F.sum(in_last_days(F.to_date("started_at"), as_of, 30).cast("long")).alias("calls_30d"),
                F.max("started_at").alias("last_call_at"),
                F.max_by("reason", latest).alias("last_call_reason"),
                F.max_by("csat", F.when(F.col("csat").isNotNull(), latest)).alias("last_call_csat")))


def campaigns(events: DataFrame, as_of: dt.date) -> DataFrame:
    """Campaign messages sent to, opened, clicked and converted by the customer over 90 days."""
    recent = (upto(events, as_of).where(F.col("customer_key").isNotNull()
                                        & in_last_days(F.to_date("occurred_at"), as_of, 90)))
    names = {"sent": "sends", "opened": "opens", "clicked": "clicks", "converted": "conversions"}
    return recent.groupBy("customer_key").agg(
        *[F.sum((F.col("action") == a).cast("long")).alias(f"campaign_{n}_90d") for a, n in names.items()])


# --- the table ----------------------------------------------------------------------------------

ZERO_FILLED = ("orders_count", "completed_orders", "cancelled_orders", "orders_365d", "refunds_count",
               "flight_orders", "sessions_30d", "sessions_90d", "page_views_30d", "page_views_90d",
               "calls_30d", "campaign_sends_90d", "campaign_opens_90d", "campaign_clicks_90d",
               "campaign_conversions_90d")


def with_as_of(df: DataFrame, as_of: dt.date) -> DataFrame:
    """The columns that move with the as-of date alone (recomputed for every row each run)."""
    return (df.withColumn("as_of_date", F.lit(as_of))
            .withColumn("rfm_t_days", F.datediff(F.lit(as_of), F.col("rfm_first_purchase_date"))))


def build_customer_360(silver: Silver, as_of: dt.date, settings: GoldSettings) -> DataFrame:
    """Every customer_360 column but `segments` and `_gold_run_id`, one row per customer (pure)."""
    orders = order_states(silver.touchpoints, silver.order_items, as_of, settings.fx_to_eur)
    out = (identity(silver.customers, as_of)
           .join(households(silver.everyone, as_of), "customer_key", "left")
           .join(consent_state(silver.consents, as_of), "customer_key", "left")
           .join(value(orders, as_of), "customer_key", "left")
           .join(rfm(orders, as_of), "customer_key", "left")
           .join(behaviour(silver.touchpoints, as_of, settings.session_gap_minutes), "customer_key", "left")
           .join(calls(silver.calls, as_of), "customer_key", "left")
           .join(campaigns(silver.campaign_events, as_of), "customer_key", "left"))
    for c in ZERO_FILLED:
        out = out.withColumn(c, F.coalesce(F.col(c), F.lit(0)))
    for p, c in CONSENTS:
        out = out.withColumn(f"consent_{p}_{c}", F.coalesce(F.col(f"consent_{p}_{c}"), F.lit(False)))
    channels = F.coalesce(F.col("channels_used"), F.array().cast("array<string>"))
    out = (out.withColumn("revenue_eur", F.coalesce("revenue_eur", F.lit(0.0)))
           .withColumn("refunds_amount_eur", F.coalesce("refunds_amount_eur", F.lit(0.0)))
           .withColumn("channels_used", channels)
           .withColumn("channel_count", F.size(channels))
           .withColumn("is_buyer", F.col("rfm_first_purchase_date").isNotNull())
           .withColumn("segments", F.array().cast("array<string>")))
    return with_as_of(out, as_of)


def finish(state: DataFrame, segments: tuple[Segment, ...], run_id: str) -> DataFrame:
    """Segments evaluated, columns in the table's order and types."""
    return to_schema(with_segments(state, segments), table_schema(TABLE), run_id)


# --- incremental scope --------------------------------------------------------------------------

def moved_days(prev: dt.date, as_of: dt.date, windows=WINDOWS) -> list[tuple[dt.date, dt.date]]:
    """Day ranges (inclusive) whose activity changes some column when the as-of date moves from
    `prev` to `as_of`: days entering the as-of range, and days leaving each window."""
    if as_of <= prev:
        return []
    ranges = [(prev + dt.timedelta(days=1), as_of)]
    for w in windows:
        ranges.append((prev - dt.timedelta(days=w - 1), as_of - dt.timedelta(days=w)))
    return ranges


def keys_active_on(df: DataFrame, time_col: str, ranges: list[tuple[dt.date, dt.date]]) -> DataFrame:
    day = F.to_date(F.col(time_col))
    cond = F.lit(False)
    for lo, hi in ranges:
        cond = cond | ((day >= F.lit(lo)) & (day <= F.lit(hi)))
    return df.where(cond & F.col("customer_key").isNotNull()).select("customer_key")


def changed_rows(spark: SparkSession, path: str, since: int, until: int) -> DataFrame | None:
    """Rows inserted, updated or deleted between two versions of a Delta table, both versions of
    an updated row included; None when `since` can no longer be read.

    Only the data files one snapshot has and the other has not are read: rows a writer merely
    copied while rewriting a file appear identically on both sides and cancel out, so the result
    is the rows that really changed, whoever wrote them.
    """
    try:
        before = read_table(spark, path, since)
        old = set(before.inputFiles())
    except Exception as exc:  # noqa: BLE001 - vacuumed or expired history: the caller rebuilds
        log.warning("%s: version %d is no longer readable (%s); recomputing everyone", path, since,
                    first_line(exc, 200))
        return None
    after = read_table(spark, path, until)
    new = set(after.inputFiles())
    file = F.col("_metadata.file_path")
    maps = {f.name for f in after.schema.fields if isinstance(f.dataType, MapType)}
    columns = [comparable(F.col(c), c in maps).alias(c) for c in after.columns]
    gained = after.where(file.isin(sorted(new - old))).select(*columns)
    lost = before.where(file.isin(sorted(old - new))).select(*columns)
    return gained.subtract(lost).unionByName(lost.subtract(gained))


def touched_keys(spark: SparkSession, paths: dict[str, str], since: dict[str, int], until: dict[str, int],
                 frames: dict[str, DataFrame], prev_as_of: dt.date, as_of: dt.date) -> DataFrame | None:
    """customer_keys whose row may differ from the last run's; None when only a rebuild can tell."""
    parts, moved_homes = [], None
    for table, time_col in INPUTS.items():
        if since[table] == until[table]:
            pass
        else:
            rows = changed_rows(spark, paths[table], since[table], until[table])
            if rows is None:
                return None
            if table == "silver.order_items":   # items carry no key: their orders' touchpoints do
                tps = frames["silver.touchpoints"].where(F.col("source") == "orders")
                parts.append(tps.join(rows.select("order_id"), "order_id", "left_semi").select("customer_key"))
            else:
                parts.append(rows.select("customer_key"))
                if table == "silver.customers" and "household_hash" in rows.columns:
                    moved_homes = rows.select("household_hash")
        if time_col is not None:
            ranges = moved_days(prev_as_of, as_of)
            if ranges:
                parts.append(keys_active_on(frames[table], time_col, ranges))
    if not parts:
        return frames["silver.customers"].select("customer_key").limit(0)
    keys = union_all(parts).where(F.col("customer_key").isNotNull()).distinct()
    return with_household_mates(keys, frames["silver.customers"], moved_homes)


# --- the job ------------------------------------------------------------------------------------

def open_silver(spark: SparkSession, config: Config, job: str) -> tuple[Silver, dict[str, int], dict[str, str]]:
    """The silver inputs, each read at its current Delta version: (frames, versions, paths).

    Every reader of customer_360's logic (this job, model training and scoring) opens silver here,
    so they see the same inputs and record the same versions."""
    paths = {t: str(config.paths.table(t)) for t in INPUTS}
    missing = [t for t in REQUIRED if not table_exists(spark, paths[t])]
    if missing:
        raise JobError(f"{job}: silver tables {', '.join(missing)} do not exist yet under {config.paths.lake}; "
                       "run the silver and identity stages first (make silver)")
    for t in INPUTS:            # a source that is not enabled contributes an empty table
        ensure_table(spark, config, table_schema(t))
    versions = {t: latest_version(p) for t, p in paths.items()}
    return Silver(*(read_table(spark, paths[t], versions[t]) for t in INPUTS)), versions, paths


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False) -> JobResult:
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        timings[step] = round(time.monotonic() - started - sum(timings.values()), 1)

    settings = gold_settings(config)
    segments = load_segments(settings.segments_file)
    schema = table_schema(TABLE)
    validate_segments(spark, segments, spark_schema(schema), settings.segments_file)
    lap("validate")

    silver, until, paths = open_silver(spark, config, JOB)
    frames = silver.frames()
    as_of = logical_date or default_as_of(spark, paths["silver.touchpoints"])

    target = ensure_table(spark, config, schema)
    marks = ensure_table(spark, config, table_schema("ops.job_watermarks"))
    membership = ensure_table(spark, config, table_schema(MEMBERSHIP))
    marked = read_watermarks(spark, marks, JOB)
    since = {t: marked.get(t, -1) for t in INPUTS}
    current = read_table(spark, target)
    prev_as_of = current.agg(F.max("as_of_date").alias("d")).first()["d"]
    lap("open")

    new_columns = [c for c in schema.column_names if c not in current.columns]
    reason = ("--full-rebuild" if full_rebuild else "first run" if prev_as_of is None
              else f"column(s) declared since the last run: {', '.join(new_columns)}" if new_columns
              else "an input has no watermark" if min(since.values()) < 0
              else "an input table was recreated" if any(since[t] > until[t] for t in INPUTS)
              else f"as-of date moved back ({prev_as_of} -> {as_of})" if as_of < prev_as_of else None)
    keys = None
    if reason is None:
        keys = touched_keys(spark, paths, since, until, frames, prev_as_of, as_of)
        reason = "silver history no longer readable" if keys is None else None
    if keys is None:
        log.info("%s: recomputing every customer as of %s (%s)", JOB, as_of, reason)
        state = build_customer_360(silver, as_of, settings)
        touched = None
    else:
        keys = keys.localCheckpoint()
        touched = keys.count()
        log.info("%s: recomputing %d touched customers as of %s (previous as-of %s)", JOB, touched, as_of, prev_as_of)
        carried = with_as_of(current.join(keys, "customer_key", "left_anti"), as_of)
        state = carried
        if touched:
            fresh = build_customer_360(silver.only(keys), as_of, settings)
            state = fresh.unionByName(carried.select(*fresh.columns))
    state = finish(state, segments, run_id).localCheckpoint()
    lap("build")
    merged = merge_state(spark, target, state, ["customer_key"])
    lap("merge")
    save_watermarks(spark, marks, JOB, until, run_id)
    lap("watermarks")
    opened_closed = update_membership(spark, membership, members(read_table(spark, target)), as_of, run_id)
    lap("segments")

    result = JobResult(job=JOB, rows_in=state.count() if touched is None else touched,
                       rows_out=merged["inserted"] + merged["updated"])
    result.seconds = time.monotonic() - started
    result.details = {"as_of": str(as_of), "mode": "full" if touched is None else "incremental",
                      **merged, **{f"segments_{k}": v for k, v in opened_closed.items()},
                      "seconds_by_step": timings}
    log.info("%s: seconds by step %s", JOB, timings)
    return result
