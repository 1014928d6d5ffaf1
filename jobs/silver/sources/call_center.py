"""bronze.call_center -> silver.calls, touchpoints, and the caller's phone as evidence."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver import standardise as std
from jobs.silver.nodes import customer_node, phone_hash, phone_node
from jobs.silver.sources.common import lineage, links, sightings, touchpoints
from jobs.silver.spec import Output, SourceSpec

SOURCE = "call_center"


def conform(bronze: DataFrame, secret: bytes) -> DataFrame:
    # Caller id shows foreign numbers internationally, so a French default region is safe here.
    phone = std.phone(F.col("caller_phone"))
    started, ended = std.utc_timestamp(F.col("started_at")), std.utc_timestamp(F.col("ended_at"))
    df = bronze.select(
        std.trimmed(F.col("call_id")).alias("call_id"), std.trimmed(F.col("customer_id")).alias("customer_id"),
        phone_hash(phone, secret).alias("caller_phone_hash"), phone_node(phone, secret).alias("phone_node"),
        std.phone_line_kind(phone).alias("line_kind"),
        started.alias("occurred_at"), ended.alias("ended_at"),
        (ended.cast("long") - started.cast("long")).alias("duration_seconds"),
        std.trimmed(F.col("queue")).alias("queue"), std.trimmed(F.col("reason")).alias("reason"),
        std.trimmed(F.col("outcome")).alias("outcome"), F.col("csat").try_cast("int").alias("csat"),
        std.trimmed(F.col("agent_id")).alias("agent_id"), *lineage(),
    )
    return df.withColumn("identity_node", F.coalesce(customer_node(F.col("customer_id")), F.col("phone_node")))


def to_calls(df: DataFrame) -> DataFrame:
    return df.select("call_id", "customer_id", "caller_phone_hash", "identity_node",
                     F.col("occurred_at").alias("started_at"), "ended_at", "duration_seconds", "queue", "reason",
                     "outcome", "csat", "agent_id", *lineage())


def to_touchpoints(df: DataFrame) -> DataFrame:
    return touchpoints(df, SOURCE, F.col("call_id"), F.lit("call_center"), "call", F.col("reason"),
                       customer_id=F.col("customer_id"))


def to_links(df: DataFrame) -> DataFrame:
    return links(df, SOURCE, [(customer_node(F.col("customer_id")), F.col("phone_node"), "call_phone")])


def to_sightings(df: DataFrame) -> DataFrame:
    return sightings(df, SOURCE, [customer_node(F.col("customer_id")), (F.col("phone_node"), F.col("line_kind"))])


def record_key(bronze: DataFrame) -> DataFrame:
    return bronze.select(F.trim(F.col("call_id")).alias("record_key"))


SPEC = SourceSpec(
    source=SOURCE, conform=conform, primary="silver.calls", record_key=record_key,
    outputs=(
        Output("silver.calls", ("call_id",), to_calls),
        Output("silver.touchpoints", ("touchpoint_id",), to_touchpoints, shared=True),
        Output("silver.identity_links", ("left_node", "right_node", "rule"), to_links, mode="span", shared=True),
        Output("silver.identity_nodes", ("node",), to_sightings, mode="span", shared=True),
    ),
)
