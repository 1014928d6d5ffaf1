"""silver.customers: one current profile per customer_key, by explicit survivorship rules.

- CRM attributes (tier, primary id) come from the customer's most recently updated CRM record;
- email, phone, birth year, city, postal code, country: the most recently updated non-empty CRM
  value, else the latest value the customer's web traits gave;
- identifier counts and first/last seen come from the identity graph;
- the household: a keyed pseudonym of the address (normalised street, postal code, country) of
  the most recently observed CRM profile, else web traits. Customers sharing it live together;
  gold counts them (household_size) without ever showing the address;
- has_work_email: one of the customer's emails is at an employer's domain rather than a consumer
  mail provider (CONSUMER_EMAIL_DOMAINS), the mark of a business traveller. Only the flag leaves
  identity resolution, never the domain.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.common.privacy import pseudonym
from jobs.silver import standardise as std
from jobs.silver.nodes import email_hash, phone_hash

PROFILE_FIELDS = ("email_hash", "phone_hash", "birth_year", "city", "postal_code", "country")
# Consumer mail providers: an address anywhere else belongs to an employer (or a typo of one of
# these, which is rare). Exact domains, and families of national domains by their first label.
CONSUMER_EMAIL_DOMAINS = (
    "gmail.com", "googlemail.com", "icloud.com", "me.com", "mac.com", "aol.com", "msn.com", "mail.com",
    "protonmail.com", "proton.me", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr",
    "neuf.fr", "web.de", "t-online.de", "freenet.de", "telefonica.net", "libero.it", "virgilio.it",
    "tiscali.it", "alice.it", "btinternet.com", "sky.com", "comcast.net", "verizon.net")
CONSUMER_EMAIL_FAMILIES = ("yahoo", "hotmail", "outlook", "live", "gmx", "yandex")


def _latest_non_empty(col: str, order: Column) -> Column:
    return F.max_by(col, F.when(F.col(col).isNotNull(), order))


def household_hash(street: Column, postal_code: Column, country: Column, secret: bytes) -> Column:
    """The address's pseudonym; null without a street or a postal code (no household then)."""
    normalised = std.street(street)
    address = F.concat_ws("|", normalised, postal_code, country)
    return F.when((F.length(normalised) > 0) & postal_code.isNotNull(), pseudonym(address, secret, "household"))


def is_work_email(email: Column) -> Column:
    """True for an email outside the consumer mail providers; null without an email."""
    domain = F.lower(F.substring_index(email, "@", -1))
    consumer = domain.isin(*CONSUMER_EMAIL_DOMAINS) | F.substring_index(domain, ".", 1).isin(*CONSUMER_EMAIL_FAMILIES)
    return F.when(email.contains("@"), ~consumer)


def build_customers(graph: DataFrame, crm: DataFrame, profiles: DataFrame, secret: bytes) -> DataFrame:
    """graph(node, node_type, customer_key, first_seen_at, last_seen_at); crm: silver.crm_records;
    profiles: silver.customer_pii (pure)."""
    keyed_profiles = profiles.where(F.col("customer_key").isNotNull())
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
    web = (keyed_profiles.where(F.col("source") == "events")
           .select("customer_key", "observed_at", email_hash(F.col("email"), secret).alias("email_hash"),
                   phone_hash(F.col("phone"), secret).alias("phone_hash"),
                   F.year("birth_date").alias("birth_year"), "city", "postal_code", "country"))
    web_side = web.groupBy("customer_key").agg(
        *[_latest_non_empty(f, F.col("observed_at")).alias(f"web_{f}") for f in PROFILE_FIELDS])
    # CRM addresses before web traits, then the latest observed.
    addressed = (keyed_profiles
                 .withColumn("household_hash", household_hash(F.col("street"), F.col("postal_code"),
                                                              F.col("country"), secret))
                 .where(F.col("household_hash").isNotNull()))
    households = addressed.groupBy("customer_key").agg(F.max_by(
        "household_hash", F.struct((F.col("source") == "crm").alias("crm_first"), F.col("observed_at"))
    ).alias("household_hash"))
    work_email = (keyed_profiles
                  .groupBy("customer_key").agg(F.max(is_work_email(F.col("email"))).alias("has_work_email")))
    out = (ids.join(counts, "customer_key").join(crm_side, "customer_key", "left")
           .join(web_side, "customer_key", "left").join(households, "customer_key", "left")
           .join(work_email, "customer_key", "left"))
    return out.select(
        "customer_key", "primary_customer_id", "customer_ids",
        F.col("primary_customer_id").isNotNull().alias("is_member"), "loyalty_tier",
        *[F.coalesce(f"crm_{f}", f"web_{f}").alias(f) for f in PROFILE_FIELDS],
        "household_hash", "has_work_email", "identifier_counts", "first_seen_at", "last_seen_at", "crm_created_at")
