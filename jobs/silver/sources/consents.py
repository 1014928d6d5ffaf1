"""bronze.consents -> silver.consents (history), silver.consent_current, touchpoints."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver import standardise as std
from jobs.silver.nodes import customer_node
from jobs.silver.sources.common import lineage, sightings, touchpoints
from jobs.silver.spec import Output, SourceSpec

SOURCE = "consents"


def consent_event_id(customer_id: Column, purpose: Column, channel: Column, occurred_at_text: Column) -> Column:
    """A consent change has no id of its own: who, what, where and when (as landed) identify it."""
    return F.concat_ws("|", customer_id, purpose, channel, occurred_at_text)


def conform(bronze: DataFrame, secret: bytes) -> DataFrame:
    customer, purpose, channel = (std.trimmed(F.col("customer_id")), F.lower(F.col("purpose")),
                                  F.lower(F.col("channel")))
    df = bronze.select(
        consent_event_id(customer, purpose, channel, F.trim(F.col("occurred_at"))).alias("consent_event_id"),
        customer.alias("customer_id"), purpose.alias("purpose"), channel.alias("channel"),
        F.lower(F.col("status")).alias("status"), std.utc_timestamp(F.col("occurred_at")).alias("occurred_at"),
        std.trimmed(F.col("source")).alias("capture_source"), *lineage(),
    )
    return df.withColumn("identity_node", customer_node(F.col("customer_id")))


def to_history(df: DataFrame) -> DataFrame:
    return df.select("consent_event_id", "customer_id", "identity_node", "purpose", "channel", "status",
                     "occurred_at", "capture_source", *lineage())


def to_current(df: DataFrame) -> DataFrame:
    return df.select("customer_id", "purpose", "channel", "identity_node", "status",
                     (F.col("status") == "granted").alias("is_granted"), "occurred_at", *lineage())


def to_touchpoints(df: DataFrame) -> DataFrame:
    return touchpoints(df, SOURCE, F.col("consent_event_id"), F.col("channel"), "consent",
                       F.concat_ws(":", "purpose", "status"), customer_id=F.col("customer_id"))


def to_sightings(df: DataFrame) -> DataFrame:
    return sightings(df, SOURCE, [F.col("identity_node")])


def record_key(bronze: DataFrame) -> DataFrame:
    return bronze.select(consent_event_id(F.trim(F.col("customer_id")), F.lower(F.col("purpose")),
                                          F.lower(F.col("channel")), F.trim(F.col("occurred_at")))
                         .alias("record_key"))


SPEC = SourceSpec(
    source=SOURCE, conform=conform, primary="silver.consents", record_key=record_key,
    outputs=(
        Output("silver.consents", ("consent_event_id",), to_history),
        Output("silver.consent_current", ("customer_id", "purpose", "channel"), to_current, mode="latest",
               newer="occurred_at"),
        Output("silver.touchpoints", ("touchpoint_id",), to_touchpoints, shared=True),
        Output("silver.identity_nodes", ("node",), to_sightings, mode="span", shared=True),
    ),
)
