"""Builders shared by the sources: touchpoint rows, identity evidence, identifier sightings."""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

LINEAGE = ("_source_file", "_line_number", "_batch_id")


def lineage() -> list[Column]:
    return [F.col(c) for c in LINEAGE]


def touchpoints(df: DataFrame, source: str, record_id: Column, channel: Column, kind: str | Column,
                event_name: Column, occurred_at: str = "occurred_at", touchpoint_id: Column | None = None,
                **extra: Column) -> DataFrame:
    """Touchpoint rows; columns not given stay null (filled from the table schema on write)."""
    ts = F.col(occurred_at)
    tid = touchpoint_id if touchpoint_id is not None else F.concat(F.lit(source + ":"), record_id)
    return df.select(
        tid.alias("touchpoint_id"), F.lit(source).alias("source"), record_id.alias("source_record_id"),
        channel.alias("channel"), (F.lit(kind) if isinstance(kind, str) else kind).alias("touchpoint_type"),
        event_name.alias("event_name"), ts.alias("occurred_at"), F.to_date(ts).alias("occurred_date"),
        F.col("identity_node"), *[value.alias(name) for name, value in extra.items()], *lineage(),
    )


def links(df: DataFrame, source: str, pairs: list[tuple[Column, Column, str]], ts: str = "occurred_at") -> DataFrame:
    """Deterministic evidence rows (left, right, rule) where both identifiers are present."""
    parts = [df.where(left.isNotNull() & right.isNotNull() & (left != right))
             .select(left.alias("left_node"), right.alias("right_node"), F.lit(rule).alias("rule"),
                     F.col(ts).alias("first_seen_at"))
             for left, right, rule in pairs]
    out = reduce(DataFrame.unionByName, parts)
    return (out.withColumn("source", F.lit(source))
            .withColumn("last_seen_at", F.col("first_seen_at")))


def sightings(df: DataFrame, source: str, nodes: list[Column | tuple[Column, Column]],
              ts: str = "occurred_at") -> DataFrame:
    """Every identifier seen, with when (reduced to first/last seen per node on write).

    A node may come as (node, shared_hint) when its clear text says it is shared by design.
    """
    pairs = [n if isinstance(n, tuple) else (n, F.lit(None).cast("string")) for n in nodes]
    seen = (df.select(F.explode(F.array(*[F.struct(n.alias("node"), h.alias("shared_hint")) for n, h in pairs]))
                      .alias("s"), F.col(ts).alias("first_seen_at"))
            .select("s.node", "s.shared_hint", "first_seen_at"))
    return (seen.where(F.col("node").isNotNull())
            .withColumn("source", F.lit(source))
            .withColumn("last_seen_at", F.col("first_seen_at")))
