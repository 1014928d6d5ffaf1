"""bronze.loyalty -> touchpoints: the conform module of the test fixture's seventh source."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import standardise as std
from jobs.silver.nodes import customer_node
from jobs.silver.sources.common import lineage, sightings, touchpoints
from jobs.silver.spec import Output, SourceSpec

SOURCE = "loyalty"


def conform(bronze: DataFrame, secret: bytes) -> DataFrame:
    df = bronze.select(
        std.trimmed(F.col("event_id")).alias("event_id"), std.trimmed(F.col("customer_id")).alias("customer_id"),
        F.lower(F.col("kind")).alias("kind"), std.utc_timestamp(F.col("occurred_at")).alias("occurred_at"),
        *lineage(),
    )
    return df.withColumn("identity_node", customer_node(F.col("customer_id")))


def to_touchpoints(df: DataFrame) -> DataFrame:
    return touchpoints(df, SOURCE, F.col("event_id"), F.lit("loyalty"), "loyalty", F.col("kind"),
                       customer_id=F.col("customer_id"))


def to_sightings(df: DataFrame) -> DataFrame:
    return sightings(df, SOURCE, [F.col("identity_node")])


def record_key(bronze: DataFrame) -> DataFrame:
    return bronze.select(F.trim(F.col("event_id")).alias("record_key"))


SPEC = SourceSpec(
    source=SOURCE, conform=conform, primary="silver.touchpoints", record_key=record_key,
    outputs=(
        Output("silver.touchpoints", ("touchpoint_id",), to_touchpoints, shared=True),
        Output("silver.identity_nodes", ("node",), to_sightings, mode="span", shared=True),
    ),
)
