"""Point-in-time features of anonymous visitors: what browsing alone says, as of a cutoff.

An anonymous visitor as of a cutoff is a device (anonymous_id) that nothing up to the cutoff
names: none of its events carries a userId, and it sent no identify or alias call (which would
carry traits or tie it to an account). That is the business's view on the cutoff day, even when
identity resolution has since put the device under a known customer (it signed in later): such a
device is exactly the visitor that converted. Rows are devices; `customer_key` is the device's
key today (what scoring writes), `anonymous_id` what labels join on.

The features read only the device's events up to the cutoff (`upto`), so nothing after the
cutoff reaches them (tests/unit/test_visitors.py plants a later sign-in and order). Their labels
(`targets._visitor_conversion`) come from the horizon: the device signs in or buys.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.gold.common import ORDER_COMPLETED_EVENT, in_last_days, sessionise, upto

# Touchpoint types of an events row that name someone: an identify call (traits) or an alias.
IDENTIFYING_TYPES = ("identify", "alias")
NO_CAMPAIGN = "none"       # first_touch_medium of a visitor never tagged by a campaign link


def is_anonymous_browsing() -> Column:
    """A row a device sends before anyone is named: an event without userId, not identify/alias."""
    return ((F.col("source") == "events") & F.col("customer_id").isNull()
            & ~F.col("touchpoint_type").isin(*IDENTIFYING_TYPES))


def signs_in_or_buys() -> Column:
    """A row that shows a visitor signing in (any row with a userId) or buying (an order)."""
    return (F.col("customer_id").isNotNull() | (F.col("touchpoint_type") == "order")
            | (F.col("event_name") == ORDER_COMPLETED_EVENT))


def _count(condition: Column) -> Column:
    return F.sum(condition.cast("long"))


def visitor_features(touchpoints: DataFrame, cutoff: dt.date, session_gap_minutes: int) -> DataFrame:
    """One row per anonymous device as of the cutoff: customer_key, anonymous_id, cutoff_date and
    browsing features (pure). Devices without a customer_key (a kiosk shared by strangers) are
    left out."""
    seen = upto(touchpoints, cutoff).where(F.col("anonymous_id").isNotNull() & F.col("customer_key").isNotNull())
    named = seen.where(~is_anonymous_browsing()).select("anonymous_id").distinct()
    events = seen.join(named, "anonymous_id", "left_anti")
    per_device = events.groupBy("anonymous_id").agg(
        F.max("customer_key").alias("customer_key"),
        F.count(F.lit(1)).alias("visitor_events"),
        _count(F.col("touchpoint_type").isin("page", "screen")).alias("visitor_page_views"),
        F.countDistinct("occurred_date").alias("visitor_active_days"),
        _count(F.col("event_name") == "Products Searched").alias("visitor_searches"),
        _count(F.col("event_name") == "Product Viewed").alias("visitor_product_views"),
        _count(F.col("event_name") == "Deals").alias("visitor_deal_views"),
        _count(F.col("event_name") == "Checkout Started").alias("visitor_checkouts_started"),
        F.avg((F.col("channel") == "app").cast("double")).alias("visitor_app_share"),
        F.min_by("utm_medium", F.when(F.col("utm_medium").isNotNull(), F.col("occurred_at")))
        .alias("first_touch_medium"),
        F.mode("locale").alias("visitor_locale"),
        F.min("occurred_at").alias("_first"), F.max("occurred_at").alias("_last"))
    sessions = sessionise(events, session_gap_minutes).groupBy("anonymous_id").agg(
        F.count(F.lit(1)).alias("visitor_sessions"),
        _count(in_last_days(F.to_date("started_at"), cutoff, 7)).alias("visitor_sessions_7d"),
        _count(in_last_days(F.to_date("started_at"), cutoff, 30)).alias("visitor_sessions_30d"))
    return (per_device.join(sessions, "anonymous_id", "left")
            .select(
                "customer_key", "anonymous_id", F.lit(cutoff).alias("cutoff_date"),
                *[F.coalesce(F.col(c), F.lit(0)).alias(c) for c in
                  ("visitor_sessions", "visitor_sessions_7d", "visitor_sessions_30d")],
                "visitor_events", "visitor_page_views", "visitor_active_days",
                "visitor_searches", "visitor_product_views", "visitor_deal_views", "visitor_checkouts_started",
                F.round("visitor_app_share", 4).alias("visitor_app_share"),
                F.coalesce("first_touch_medium", F.lit(NO_CAMPAIGN)).alias("first_touch_medium"),
                "visitor_locale",
                F.datediff(F.lit(cutoff), F.to_date("_first")).alias("days_since_first_visit"),
                F.datediff(F.lit(cutoff), F.to_date("_last")).alias("days_since_last_visit")))
