"""Person profiles for matching and conflict checks, built inside the job from silver.customer_pii.

One profile per profile node (a CRM customer id, or a device that sent identify traits): CRM
values first, web traits where the CRM is silent. Names, streets and dates are normalised here
and never written anywhere but the restricted table they came from.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import standardise as std
from jobs.silver.nodes import email_node, phone_node

FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "street", "city", "postal_code", "country")


def profiles(pii: DataFrame, secret: bytes) -> DataFrame:
    """(profile_node, first, last, birth_date, street, city, postal_code, email_node, phone_node)."""
    crm_first = F.when(F.col("source") == "crm", 0).otherwise(1)
    merged = pii.groupBy("profile_node").agg(
        *[F.min_by(f, F.when(F.col(f).isNotNull(), crm_first)).alias(f) for f in FIELDS])
    return merged.select(
        "profile_node",
        std.name(F.col("first_name")).alias("first"), std.name(F.col("last_name")).alias("last"),
        F.col("birth_date"), std.street(F.col("street")).alias("street"), std.name(F.col("city")).alias("city"),
        F.col("postal_code"), email_node(F.col("email"), secret).alias("email_node"),
        phone_node(F.col("phone"), secret).alias("phone_node"),
    )
