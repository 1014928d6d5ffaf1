"""Write resolved keys onto every silver table that attributes rows through an identifier."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.tables import merge_counts

# table -> column holding the identifier the row is attributed through
ATTRIBUTED = {
    "silver.touchpoints": "identity_node",
    "silver.orders": "identity_node",
    "silver.calls": "identity_node",
    "silver.campaign_events": "identity_node",
    "silver.consents": "identity_node",
    "silver.consent_current": "identity_node",
    "silver.crm_records": "identity_node",
    "silver.customer_pii": "profile_node",
}


def changed_nodes(previous_graph: DataFrame, graph: DataFrame) -> DataFrame:
    """Nodes whose key moved since the previous graph (merges, splits, newly shared) (pure)."""
    prev = previous_graph.select("node", F.col("customer_key").alias("before"))
    return (graph.join(prev, "node", "left")
            .where(~F.col("customer_key").eqNullSafe(F.col("before")) & F.col("before").isNotNull())
            .select("node"))


def attach_keys(spark: SparkSession, path: str, node_column: str, graph: DataFrame, moved: DataFrame) -> int:
    """Set customer_key where it differs from the graph's; rows updated.

    Only rows that can need it are merged: rows still without a key (new since the last run)
    whose identifier now has one, and rows of identifiers whose key moved. Nothing to do, no commit.
    """
    from delta.tables import DeltaTable

    table = spark.read.format("delta").load(path)
    keyed = graph.where(F.col("customer_key").isNotNull()).select("node")
    pending = (table.where(F.col("customer_key").isNull()).select(F.col(node_column).alias("node")).distinct()
               .join(keyed, "node"))
    todo = pending.unionByName(moved).distinct()
    source = graph.join(todo, "node").select("node", "customer_key").localCheckpoint()
    if source.isEmpty():
        return 0
    cond = (F.col(f"t.{node_column}") == F.col("s.node")) & ~F.col("t.customer_key").eqNullSafe(F.col("s.customer_key"))
    return merge_counts(DeltaTable.forPath(spark, path).alias("t")
                        .merge(source.alias("s"), cond)
                        .whenMatchedUpdate(set={"customer_key": F.col("s.customer_key")})
                        .execute())["updated"]
