"""Stable customer keys over changing clusters.

A key is born from its cluster's anchor - the identifier seen first (then the smallest id) - and
is a keyed hash of it, so a full rebuild over the same history names clusters the same way.
Between runs a key belongs to the cluster that holds its anchor: clusters that grow keep their
key; when clusters merge the key whose anchor was seen first survives and the others are
recorded as merged into it; when a cluster splits the part without the anchor gets a new key,
recorded as split from the old one.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.common.privacy import pseudonym

KEY_PREFIX = "ck_"


def key_of(anchor: F.Column, secret: bytes) -> F.Column:
    return F.concat(F.lit(KEY_PREFIX), F.substring(pseudonym(anchor, secret, "customer_key"), 1, 20))


def assign_keys(components: DataFrame, seen: DataFrame, registry: DataFrame, secret: bytes) -> DataFrame:
    """(component) -> (component, customer_key, anchor_node, anchor_first_seen_at, claimed_keys).

    components(node, component); seen(node, first_seen_at); registry: active keys
    (customer_key, anchor_node, anchor_first_seen_at). claimed_keys lists every active key whose
    anchor lies in the component (more than one means a merge).
    """
    nodes = components.join(seen, "node", "left")
    own_anchor = (nodes.withColumn("r", F.row_number().over(
        Window.partitionBy("component").orderBy(F.col("first_seen_at").asc_nulls_last(), "node")))
        .where("r = 1").select("component", F.col("node").alias("own_anchor"),
                               F.col("first_seen_at").alias("own_anchor_seen")))
    claims = (registry.join(components, registry.anchor_node == components.node)
              .groupBy("component")
              .agg(F.min(F.struct("anchor_first_seen_at", "customer_key", "anchor_node")).alias("survivor"),
                   F.sort_array(F.collect_list("customer_key")).alias("claimed_keys")))
    out = own_anchor.join(claims, "component", "left")
    return out.select(
        "component",
        F.coalesce(F.col("survivor.customer_key"), key_of(F.col("own_anchor"), secret)).alias("customer_key"),
        F.coalesce(F.col("survivor.anchor_node"), F.col("own_anchor")).alias("anchor_node"),
        F.coalesce(F.col("survivor.anchor_first_seen_at"), F.col("own_anchor_seen")).alias("anchor_first_seen_at"),
        F.coalesce(F.col("claimed_keys"), F.array().cast("array<string>")).alias("claimed_keys"),
    )


def key_events(assigned: DataFrame, previous_graph: DataFrame, new_graph: DataFrame, registry: DataFrame,
               run_id: str) -> DataFrame:
    """created / merged / split events implied by this run's assignment (pure).

    assigned: output of assign_keys; previous_graph / new_graph: (node, customer_key);
    registry: every key known before this run (customer_key).
    """
    created = (assigned.join(registry.select("customer_key"), "customer_key", "left_anti")
               .select(F.lit("created").alias("event"), "customer_key", F.lit(None).cast("string").alias("related_key"),
                       F.lit(None).cast("bigint").alias("nodes")))
    merged = (assigned.select("customer_key", F.explode("claimed_keys").alias("old"))
              .where(F.col("old") != F.col("customer_key"))
              .select(F.lit("merged").alias("event"), F.col("old").alias("customer_key"),
                      F.col("customer_key").alias("related_key"), F.lit(None).cast("bigint").alias("nodes")))
    moved = (previous_graph.alias("p").join(new_graph.alias("n"), "node")
             .where(F.col("p.customer_key").isNotNull() & F.col("n.customer_key").isNotNull()
                    & (F.col("p.customer_key") != F.col("n.customer_key")))
             .select(F.col("p.customer_key").alias("old"), F.col("n.customer_key").alias("new")))
    absorbed = merged.select(F.col("customer_key").alias("old"), F.col("related_key").alias("new"))
    # Nodes that left a key which still lives on elsewhere: that key split.
    split = (moved.join(absorbed, ["old", "new"], "left_anti")
             .join(assigned.select(F.col("customer_key").alias("old")), "old")
             .groupBy("old", "new").agg(F.count(F.lit(1)).alias("nodes"))
             .select(F.lit("split").alias("event"), F.col("new").alias("customer_key"),
                     F.col("old").alias("related_key"), "nodes"))
    return (created.unionByName(merged).unionByName(split)
            .withColumn("run_id", F.lit(run_id)))
