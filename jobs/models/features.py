"""Point-in-time customer features: everything a model may know about a customer as of a cutoff.

The feature frame is gold.customer_360's own logic (`build_customer_360`) run as of the cutoff,
plus what only models need, derived from the same as-of order states (`order_states`): per item
category, how many completed orders held it; how many passengers travel; how recently things
happened. Nothing here reads a row that happened after the cutoff day, because every input
goes through customer_360's as-of filters (`upto`, `in_last_days`) or `order_states` as of the
cutoff (tests/unit/test_models.py plants a future event and checks it cannot leak).

Profile attributes that silver keeps only as their latest value (loyalty tier, country, birth
year, identifier counts, the work-email mark, the household) are the exception: silver holds no
history of them, so they are today's values at any cutoff. The generator never changes them, so the models' measured accuracy does
not rest on that leak; on real data prefer behaviour features or keep CRM history.

Feature kinds: numeric (numbers and booleans, nulls filled with MISSING) and categorical
(strings, one-hot encoded by the model pipeline, nulls as "unknown").
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, NumericType, StringType, StructType

from jobs.gold.common import in_last_days
from jobs.gold.customer_360 import Silver, build_customer_360, order_states
from jobs.gold.settings import GoldSettings

# Item categories whose order history is always a feature; a model's target adds its own.
CATEGORIES = ("flight", "extra_bag", "seat", "insurance", "upgrade")
# Columns that are keys (a customer's, a visitor device's), bookkeeping, not a property of the
# customer, or a map (each channel's last touch: days_since_last_seen says what a model needs of it).
NOT_FEATURES = ("customer_key", "anonymous_id", "as_of_date", "primary_customer_id", "segments",
                "_gold_run_id", "last_touch_at")
TIERS = {"blue": 1, "silver": 2, "gold": 3, "platinum": 4}
OFFLINE_CHANNELS = ("call_center", "agency", "airport", "store")
MISSING = -1.0          # what a null numeric feature becomes (trees split it off; "days since" is never null)
UNKNOWN = "unknown"     # what a null categorical feature becomes


def category_column(category: str) -> str:
    """The feature counting completed orders that held `category` (e.g. orders_with_extra_bag)."""
    return f"orders_with_{category}"


def category_history(orders: DataFrame, cutoff: dt.date, categories: tuple[str, ...]) -> DataFrame:
    """Per customer: completed orders holding each category, their share of completed orders,
    passengers per flight, the most children on one and the share of flights with any, the share
    of flights in business cabin, the share booked offline, orders in the last 30 and 90 days
    (pure).

    orders: `order_states` as of the cutoff (orders placed by then, status as of then)."""
    done = orders.where(F.col("status") == "completed")
    per_category = [F.sum(F.array_contains("categories", c).cast("long")).alias(category_column(c))
                    for c in categories]
    agg = done.groupBy("customer_key").agg(
        F.count(F.lit(1)).alias("_done"),
        *per_category,
        F.avg("passengers").alias("avg_passengers"),
        F.max("passengers").alias("max_passengers"),
        F.max("children").alias("max_children"),
        F.avg(F.when(F.col("children").isNotNull(), (F.col("children") > 0).cast("double")))
        .alias("child_flight_share"),
        F.avg(F.when(F.col("cabin").isNotNull(), (F.col("cabin") == "business").cast("double")))
        .alias("business_cabin_share"),
        F.avg(F.col("channel").isin(*OFFLINE_CHANNELS).cast("double")).alias("offline_order_share"),
        *[F.sum(in_last_days(F.col("purchase_date"), cutoff, w).cast("long")).alias(f"orders_{w}d")
          for w in (30, 90)])
    shares = [F.round(F.col(category_column(c)) / F.col("_done"), 4).alias(f"{c}_order_share")
              for c in categories]
    return agg.select("*", *shares).drop("_done")


def household_children(history: DataFrame, profile: DataFrame) -> DataFrame:
    """Per customer with an address: the most children any customer living there booked a flight
    for (pure). A parent who flies alone on business shows their children through the family's
    trips booked by the other parent."""
    homes = profile.where(F.col("household_hash").isNotNull()).select("customer_key", "household_hash")
    per_home = (homes.join(history.select("customer_key", "max_children"), "customer_key")
                .groupBy("household_hash").agg(F.max("max_children").alias("household_max_children")))
    return homes.join(per_home, "household_hash").drop("household_hash")


NEVER_DAYS = 3650      # "days since" something that never happened: longer ago than any history


def _days_since(col: str, cutoff: dt.date) -> Column:
    return F.coalesce(F.datediff(F.lit(cutoff), F.to_date(F.col(col))), F.lit(NEVER_DAYS))


def customer_features(silver: Silver, cutoff: dt.date, settings: GoldSettings,
                      categories: tuple[str, ...] = CATEGORIES) -> DataFrame:
    """One row per customer that existed on the cutoff day: customer_key, cutoff_date and every
    feature (pure). `categories`: the item categories to count (CATEGORIES and any target's)."""
    categories = tuple(dict.fromkeys((*CATEGORIES, *categories)))
    c360 = build_customer_360(silver, cutoff, settings)
    orders = order_states(silver.touchpoints, silver.order_items, cutoff, settings.fx_to_eur)
    history = category_history(orders, cutoff, categories)
    profile = silver.customers.select("customer_key", "birth_year", "has_work_email", "household_hash")
    tier = F.create_map(*[x for name, rank in TIERS.items() for x in (F.lit(name), F.lit(rank))])
    out = (c360.join(history, "customer_key", "left").join(profile, "customer_key", "left")
           .join(household_children(history, profile), "customer_key", "left")
           .withColumn("cutoff_date", F.lit(cutoff))
           .withColumn("age", F.year(F.lit(cutoff)) - F.col("birth_year"))
           .withColumn("household_youngest_age", F.year(F.lit(cutoff)) - F.col("household_youngest_birth_year"))
           .withColumn("tier_rank", F.coalesce(F.try_element_at(tier, F.lower("loyalty_tier")), F.lit(0)))
           .withColumn("days_since_first_seen", _days_since("first_seen_at", cutoff))
           .withColumn("days_since_last_seen", _days_since("last_seen_at", cutoff))
           .withColumn("days_since_last_order", _days_since("last_order_at", cutoff))
           .withColumn("days_since_last_call", _days_since("last_call_at", cutoff))
           .withColumn("is_complainer", F.coalesce(F.col("last_call_csat") <= 2, F.lit(False)))
           .drop("birth_year", "household_hash"))
    for c in ("orders_30d", "orders_90d", "offline_order_share",
              *[category_column(c) for c in categories], *[f"{c}_order_share" for c in categories]):
        out = out.withColumn(c, F.coalesce(F.col(c), F.lit(0)))
    return out.drop(*[c for c in NOT_FEATURES if c != "customer_key"])


def usable_features(schema: StructType) -> dict[str, str]:
    """name -> "numeric" | "categorical" for every column a model may name as a feature."""
    kinds = {}
    for f in schema.fields:
        if f.name in (*NOT_FEATURES, "cutoff_date"):
            continue
        if isinstance(f.dataType, (NumericType, BooleanType)):
            kinds[f.name] = "numeric"
        elif isinstance(f.dataType, StringType):
            kinds[f.name] = "categorical"
    return kinds


def model_input(features: DataFrame, numeric: tuple[str, ...], categorical: tuple[str, ...],
                keep: tuple[str, ...] = ()) -> DataFrame:
    """The columns a model pipeline reads, nulls filled: numerics as double, categories as text.

    Training and scoring both pass through here, so the model's signature is these columns."""
    cols = [F.col(c) for c in keep]
    cols += [F.coalesce(F.col(c).cast("double"), F.lit(MISSING)).alias(c) for c in numeric]
    cols += [F.coalesce(F.col(c), F.lit(UNKNOWN)).alias(c) for c in categorical]
    return features.select(*cols)
