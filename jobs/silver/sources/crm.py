"""bronze.crm (customer master extracts) -> silver.crm_records, restricted profiles, evidence."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import standardise as std
from jobs.silver.nodes import customer_node, email_hash, email_node, phone_hash, phone_node
from jobs.silver.sources.common import lineage, links, sightings
from jobs.silver.spec import Output, SourceSpec

SOURCE = "crm"


def conform(bronze: DataFrame, secret: bytes) -> DataFrame:
    country = std.country(F.col("country"))
    df = bronze.select(
        std.trimmed(F.col("customer_id")).alias("customer_id"),
        std.trimmed(F.col("first_name")).alias("first_name"), std.trimmed(F.col("last_name")).alias("last_name"),
        std.email(F.col("email")).alias("email"), std.phone(F.col("phone"), country).alias("phone"),
        std.birth_date(F.col("birth_date")).alias("birth_date"), std.trimmed(F.col("street")).alias("street"),
        std.trimmed(F.col("city")).alias("city"), std.postal_code(F.col("postal_code")).alias("postal_code"),
        country.alias("country"), F.lower(std.trimmed(F.col("loyalty_tier"))).alias("loyalty_tier"),
        std.utc_timestamp(F.col("created_at")).alias("created_at"),
        std.utc_timestamp(F.col("updated_at")).alias("updated_at"), *lineage(),
    )
    return (df.withColumn("identity_node", customer_node(F.col("customer_id")))
            .withColumn("email_hash", email_hash(F.col("email"), secret))
            .withColumn("phone_hash", phone_hash(F.col("phone"), secret))
            .withColumn("email_node", email_node(F.col("email"), secret))
            .withColumn("phone_node", phone_node(F.col("phone"), secret)))


def to_records(df: DataFrame) -> DataFrame:
    return df.select("customer_id", "identity_node", "email_hash", "phone_hash",
                     F.year("birth_date").alias("birth_year"), "city", "postal_code", "country", "loyalty_tier",
                     "created_at", "updated_at", *lineage())


def to_profiles(df: DataFrame) -> DataFrame:
    return df.select(F.col("identity_node").alias("profile_node"), F.lit(SOURCE).alias("source"),
                     "first_name", "last_name", "email", "phone", "birth_date", "street", "city", "postal_code",
                     "country", F.col("updated_at").alias("observed_at"))


def to_links(df: DataFrame) -> DataFrame:
    node = F.col("identity_node")
    return links(df, SOURCE, [(node, F.col("email_node"), "crm_email"), (node, F.col("phone_node"), "crm_phone")],
                 ts="updated_at")


def to_sightings(df: DataFrame) -> DataFrame:
    # A CRM record is first seen when it was created, not when the extract ran.
    seen = df.withColumn("seen_at", F.least(F.coalesce("created_at", "updated_at"), F.col("updated_at")))
    return sightings(seen, SOURCE, [F.col("identity_node"), (F.col("email_node"), std.mailbox_kind(F.col("email"))),
                                    (F.col("phone_node"), std.phone_line_kind(F.col("phone")))], ts="seen_at")


def record_key(bronze: DataFrame) -> DataFrame:
    return bronze.select(F.trim(F.col("customer_id")).alias("record_key"))


SPEC = SourceSpec(
    source=SOURCE, conform=conform, primary="silver.crm_records", record_key=record_key,
    outputs=(
        Output("silver.crm_records", ("customer_id",), to_records, mode="latest", newer="updated_at"),
        Output("silver.customer_pii", ("profile_node", "source"), to_profiles, mode="fields_latest",
               newer="observed_at", shared=True),
        Output("silver.identity_links", ("left_node", "right_node", "rule"), to_links, mode="span", shared=True),
        Output("silver.identity_nodes", ("node",), to_sightings, mode="span", shared=True),
    ),
)
