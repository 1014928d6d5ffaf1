"""Point-in-time features of anonymous visitors: what browsing alone says, as of a cutoff.

An anonymous visitor as of a cutoff is a customer_key none of whose touchpoints up to the cutoff
identifies anyone: only web/app events without a userId, and no identify or alias call (which
would carry traits or tie the device to an account), no order, call, campaign send or consent.
That is the business's view on the cutoff day: a device it cannot name. Identity resolution may
since have merged the key with a customer (the visitor signed in later); the key is today's, the
evidence is the cutoff's.

The features read only those events up to the cutoff (`upto`), so nothing after the cutoff
reaches them (tests/unit/test_visitors.py plants a later sign-in and order). Their labels
(`targets._visitor_conversion`) come from the horizon: the key signs in or buys.
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
    """One row per anonymous visitor as of the cutoff: customer_key, cutoff_date and browsing
    features (pure). Keys without a customer_key (a kiosk shared by strangers) are left out."""
    seen = upto(touchpoints, cutoff).where(F.col("customer_key").isNotNull())
    named = seen.where(~is_anonymous_browsing()).select("customer_key").distinct()
    events = seen.join(named, "customer_key", "left_anti")
    per_key = events.groupBy("customer_key").agg(
        F.count(F.lit(1)).alias("visitor_events"),
        _count(F.col("touchpoint_type").isin("page", "screen")).alias("visitor_page_views"),
        F.countDistinct("occurred_date").alias("visitor_active_days"),
        F.countDistinct("anonymous_id").alias("visitor_devices"),
        _count(F.col("event_name") == "Products Searched").alias("visitor_searches"),
        _count(F.col("event_name") == "Product Viewed").alias("visitor_product_views"),
        _count(F.col("event_name") == "Deals").alias("visitor_deal_views"),
        _count(F.col("event_name") == "Checkout Started").alias("visitor_checkouts_started"),
        F.avg((F.col("channel") == "app").cast("double")).alias("visitor_app_share"),
        F.min_by("utm_medium", F.when(F.col("utm_medium").isNotNull(), F.col("occurred_at")))
        .alias("first_touch_medium"),
        F.mode("locale").alias("visitor_locale"),
        F.min("occurred_at").alias("_first"), F.max("occurred_at").alias("_last"))
    sessions = sessionise(events, session_gap_minutes).groupBy("customer_key").agg(
        F.count(F.lit(1)).alias("visitor_sessions"),
        _count(in_last_days(F.to_date("started_at"), cutoff, 7)).alias("visitor_sessions_7d"),
        _count(in_last_days(F.to_date("started_at"), cutoff, 30)).alias("visitor_sessions_30d"))
    return (per_key.join(sessions, "customer_key", "left")
            .select(
                "customer_key", F.lit(cutoff).alias("cutoff_date"),
                *[F.coalesce(F.col(c), F.lit(0)).alias(c) for c in
                  ("visitor_sessions", "visitor_sessions_7d", "visitor_sessions_30d")],
                "visitor_events", "visitor_page_views", "visitor_active_days", "visitor_devices",
                "visitor_searches", "visitor_product_views", "visitor_deal_views", "visitor_checkouts_started",
                F.round("visitor_app_share", 4).alias("visitor_app_share"),
                F.coalesce("first_touch_medium", F.lit(NO_CAMPAIGN)).alias("first_touch_medium"),
                "visitor_locale",
                F.datediff(F.lit(cutoff), F.to_date("_first")).alias("days_since_first_visit"),
                F.datediff(F.lit(cutoff), F.to_date("_last")).alias("days_since_last_visit")))
