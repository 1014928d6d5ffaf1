"""What a model predicts: a label per customer from the horizon after a cutoff (pure).

Every target reads only the horizon: rows that happened after the cutoff day and no later than
cutoff + horizon_days (`horizon_rows`). Labels are therefore facts the features cannot hold.

Kinds (the `target:` of a model YAML):
- purchase {category}: a completed order placed in the horizon holds an item of the category
  (status as of the horizon's end: an order cancelled inside the horizon does not count);
- attach {category}: the same, among customers with a completed order placed in the horizon (the
  others are out of scope): "when they book, do they add it?", the propensity an offer needs;
- churn: no customer-initiated interaction at all (visit, app use, order, call) in the horizon;
- campaign_response: converted in the horizon, among customers sent a campaign message in it
  (the others are out of scope for that cutoff);
- visitor_conversion: an anonymous visitor's device (jobs/models/visitors.py) signs in or buys in
  the horizon; its rows are devices, not customers (`population`, `row_key`).

A new kind is one function here and one entry in TARGET_KINDS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.gold.common import as_of_end, is_inbound
from jobs.gold.customer_360 import Silver, order_states
from jobs.gold.settings import GoldSettings
from jobs.models.visitors import signs_in_or_buys

CUSTOMERS, VISITORS = "customers", "visitors"     # the populations a model's rows come from
# population -> the column its rows are unique on (per cutoff) and labels join on
ROW_KEYS = {CUSTOMERS: "customer_key", VISITORS: "anonymous_id"}


@dataclass(frozen=True)
class Target:
    kind: str                    # one of TARGET_KINDS
    category: str | None = None  # purchase and attach only

    @property
    def description(self) -> str:
        return f"{self.kind} of {self.category}" if self.category else self.kind

    @property
    def population(self) -> str:
        """Whose feature rows the model reads: customers (customer_features) or anonymous
        visitors' devices (visitor_features)."""
        return VISITORS if self.kind in VISITOR_KINDS else CUSTOMERS

    @property
    def row_key(self) -> str:
        """The column one row per cutoff is unique on, and labels join on."""
        return ROW_KEYS[self.population]


def horizon_rows(df: DataFrame, cutoff: dt.date, horizon_days: int, column: str = "occurred_at") -> DataFrame:
    """Rows that happened after the cutoff day and by the end of the horizon's last day."""
    end = cutoff + dt.timedelta(days=horizon_days)
    return df.where((F.col(column) >= as_of_end(cutoff)) & (F.col(column) < as_of_end(end)))


def _horizon_orders(silver: Silver, cutoff: dt.date, horizon_days: int, settings: GoldSettings) -> DataFrame:
    """Orders placed in the horizon and completed as of its end: customer_key, holds (categories)."""
    end = cutoff + dt.timedelta(days=horizon_days)
    orders = order_states(silver.touchpoints, silver.order_items, end, settings.fx_to_eur)
    return horizon_rows(orders, cutoff, horizon_days, "placed_at").where(F.col("status") == "completed")


def _purchase(silver: Silver, target: Target, cutoff: dt.date, horizon_days: int,
              settings: GoldSettings) -> DataFrame:
    bought = _horizon_orders(silver, cutoff, horizon_days, settings).where(
        F.array_contains("categories", target.category))
    return bought.select("customer_key").distinct().withColumn("label", F.lit(1))


def _attach(silver: Silver, target: Target, cutoff: dt.date, horizon_days: int,
            settings: GoldSettings) -> DataFrame:
    orders = _horizon_orders(silver, cutoff, horizon_days, settings)
    return orders.groupBy("customer_key").agg(
        F.max(F.coalesce(F.array_contains("categories", target.category), F.lit(False)).cast("int")).alias("label"))


def _churn(silver: Silver, target: Target, cutoff: dt.date, horizon_days: int,
           settings: GoldSettings) -> DataFrame:
    active = horizon_rows(silver.touchpoints, cutoff, horizon_days).where(
        is_inbound() & F.col("customer_key").isNotNull())
    # Labelled 1 by absence: every customer not active in the horizon churned.
    return active.select("customer_key").distinct().withColumn("label", F.lit(0))


def _campaign_response(silver: Silver, target: Target, cutoff: dt.date, horizon_days: int,
                       settings: GoldSettings) -> DataFrame:
    events = horizon_rows(silver.campaign_events, cutoff, horizon_days).where(F.col("customer_key").isNotNull())
    per = events.groupBy("customer_key").agg(
        F.min(F.when(F.col("action") == "sent", F.col("occurred_at"))).alias("first_sent_at"),
        F.max(F.when(F.col("action") == "converted", F.col("occurred_at"))).alias("converted_at"))
    return per.where(F.col("first_sent_at").isNotNull()).select(
        "customer_key", F.coalesce(F.col("converted_at") >= F.col("first_sent_at"), F.lit(False))
        .cast("int").alias("label"))


def _visitor_conversion(silver: Silver, target: Target, cutoff: dt.date, horizon_days: int,
                        settings: GoldSettings) -> DataFrame:
    converted = horizon_rows(silver.touchpoints, cutoff, horizon_days).where(
        signs_in_or_buys() & F.col("anonymous_id").isNotNull())
    return converted.select("anonymous_id").distinct().withColumn("label", F.lit(1))


# kind -> (labels of the customers the horizon says something about, label of everyone else:
#          None when they are out of scope for this cutoff)
TARGET_KINDS: dict[str, tuple[Callable[..., DataFrame], int | None]] = {
    "purchase": (_purchase, 0),
    "attach": (_attach, None),
    "churn": (_churn, 1),
    "campaign_response": (_campaign_response, None),
    "visitor_conversion": (_visitor_conversion, 0),
}


CATEGORY_KINDS = ("purchase", "attach")     # the kinds whose target names an item category
VISITOR_KINDS = ("visitor_conversion",)     # the kinds whose rows are anonymous visitors


def with_labels(features: DataFrame, silver: Silver, target: Target, cutoff: dt.date, horizon_days: int,
                settings: GoldSettings) -> DataFrame:
    """The feature rows of one cutoff with their `label` (0/1) added; rows out of the target's
    scope for this cutoff dropped (pure)."""
    build, others = TARGET_KINDS[target.kind]
    labels = build(silver, target, cutoff, horizon_days, settings)
    if others is None:
        return features.join(labels, target.row_key, "inner")
    return (features.join(labels, target.row_key, "left")
            .withColumn("label", F.coalesce(F.col("label"), F.lit(others)).cast("int")))
