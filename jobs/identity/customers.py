"""silver.customers: one current profile per customer_key, by explicit survivorship rules.

- CRM attributes (tier, primary id) come from the customer's most recently updated CRM record;
- email, phone, birth year, city, postal code, country: the most recently updated non-empty CRM
  value, else the latest value the customer's web traits gave;
- identifier counts and first/last seen come from the identity graph;
- the household: a keyed pseudonym of the address (normalised street, postal code, country) of
  the most recently observed CRM profile, else web traits. Customers sharing it live together;
  gold counts them (household_size) without ever showing the address.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.common.privacy import pseudonym
from jobs.silver import standardise as std
from jobs.silver.nodes import email_hash, phone_hash

PROFILE_FIELDS = ("email_hash", "phone_hash", "birth_year", "city", "postal_code", "country")


def _latest_non_empty(col: str, order: Column) -> Column:
    return F.max_by(col, F.when(F.col(col).isNotNull(), order))


def household_hash(street: Column, postal_code: Column, country: Column, secret: bytes) -> Column:
    """The address's pseudonym; null without a street or a postal code (no household then)."""
    normalised = std.street(street)
    address = F.concat_ws("|", normalised, postal_code, country)
    return F.when((F.length(normalised) > 0) & postal_code.isNotNull(), pseudonym(address, secret, "household"))


def build_customers(graph: DataFrame, crm: DataFrame, profiles: DataFrame, secret: bytes) -> DataFrame:
    """graph(node, node_type, customer_key, first_seen_at, last_seen_at); crm: silver.crm_records;
    profiles: silver.customer_pii (pure)."""
    web_profiles = profiles.where(F.col("source") == "events")
    keyed = graph.where(F.col("customer_key").isNotNull())
    ids = keyed.groupBy("customer_key").agg(F.min("first_seen_at").alias("first_seen_at"),
                                            F.max("last_seen_at").alias("last_seen_at"))
    counts = (keyed.groupBy("customer_key", "node_type").agg(F.count(F.lit(1)).alias("n"))
              .groupBy("customer_key").agg(F.map_from_entries(F.array_sort(F.collect_list(F.struct("node_type", "n"))))
                                           .alias("identifier_counts")))
    crm_rows = crm.where(F.col("customer_key").isNotNull())
    crm_side = crm_rows.groupBy("customer_key").agg(
        F.max_by("customer_id", "updated_at").alias("primary_customer_id"),
        F.sort_array(F.collect_set("customer_id")).alias("customer_ids"),
        F.max_by("loyalty_tier", "updated_at").alias("loyalty_tier"),
        F.min("created_at").alias("crm_created_at"),
        *[_latest_non_empty(f, F.col("updated_at")).alias(f"crm_{f}") for f in PROFILE_FIELDS])
    web = (web_profiles.where(F.col("customer_key").isNotNull())
           .select("customer_key", "observed_at", email_hash(F.col("email"), secret).alias("email_hash"),
                   phone_hash(F.col("phone"), secret).alias("phone_hash"),
                   F.year("birth_date").alias("birth_year"), "city", "postal_code", "country"))
    web_side = web.groupBy("customer_key").agg(
        *[_latest_non_empty(f, F.col("observed_at")).alias(f"web_{f}") for f in PROFILE_FIELDS])
    # CRM addresses before web traits, then the latest observed.
    addressed = (profiles.where(F.col("customer_key").isNotNull())
                 .withColumn("household_hash", household_hash(F.col("street"), F.col("postal_code"),
                                                              F.col("country"), secret))
                 .where(F.col("household_hash").isNotNull()))
    households = addressed.groupBy("customer_key").agg(F.max_by(
        "household_hash", F.struct((F.col("source") == "crm").alias("crm_first"), F.col("observed_at"))
    ).alias("household_hash"))
    out = (ids.join(counts, "customer_key").join(crm_side, "customer_key", "left")
           .join(web_side, "customer_key", "left").join(households, "customer_key", "left"))
    return out.select(
        "customer_key", "primary_customer_id", "customer_ids",
        F.col("primary_customer_id").isNotNull().alias("is_member"), "loyalty_tier",
        *[F.coalesce(f"crm_{f}", f"web_{f}").alias(f) for f in PROFILE_FIELDS],
        "household_hash", "identifier_counts", "first_seen_at", "last_seen_at", "crm_created_at")
