"""bronze.campaigns -> silver.campaign_events and touchpoints."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import standardise as std
from jobs.silver.nodes import customer_node
from jobs.silver.sources.common import lineage, sightings, touchpoints
from jobs.silver.spec import Output, SourceSpec

SOURCE = "campaigns"


def conform(bronze: DataFrame, secret: bytes) -> DataFrame:
    df = bronze.select(
        std.trimmed(F.col("event_id")).alias("event_id"), std.trimmed(F.col("campaign_id")).alias("campaign_id"),
        std.trimmed(F.col("variant")).alias("variant"), F.lower(F.col("channel")).alias("channel"),
        std.trimmed(F.col("customer_id")).alias("customer_id"), F.lower(F.col("action")).alias("action"),
        std.utc_timestamp(F.col("occurred_at")).alias("occurred_at"), *lineage(),
    )
    return df.withColumn("identity_node", customer_node(F.col("customer_id")))


def to_events(df: DataFrame) -> DataFrame:
    return df.select("event_id", "campaign_id", "variant", "channel", "customer_id", "identity_node", "action",
                     "occurred_at", *lineage())


def to_touchpoints(df: DataFrame) -> DataFrame:
    return touchpoints(df, SOURCE, F.col("event_id"), F.col("channel"), "campaign", F.col("action"),
                       customer_id=F.col("customer_id"), campaign_id=F.col("campaign_id"))


def to_sightings(df: DataFrame) -> DataFrame:
    return sightings(df, SOURCE, [F.col("identity_node")])


def record_key(bronze: DataFrame) -> DataFrame:
    return bronze.select(F.trim(F.col("event_id")).alias("record_key"))


SPEC = SourceSpec(
    source=SOURCE, conform=conform, primary="silver.campaign_events", record_key=record_key,
    outputs=(
        Output("silver.campaign_events", ("event_id",), to_events),
        Output("silver.touchpoints", ("touchpoint_id",), to_touchpoints, shared=True),
        Output("silver.identity_nodes", ("node",), to_sightings, mode="span", shared=True),
    ),
)
