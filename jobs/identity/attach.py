"""Write resolved keys onto every silver table that attributes rows through an identifier."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

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


def attach_keys(spark: SparkSession, path: str, node_column: str, graph: DataFrame) -> int:
    """Set customer_key where it differs from the graph's (new rows, merges, splits, shared). Rows updated."""
    from delta.tables import DeltaTable

    cond = (F.col(f"t.{node_column}") == F.col("s.node")) & ~F.col("t.customer_key").eqNullSafe(F.col("s.customer_key"))
    metrics = (DeltaTable.forPath(spark, path).alias("t")
               .merge(graph.select("node", "customer_key").alias("s"), cond)
               .whenMatchedUpdate(set={"customer_key": F.col("s.customer_key")})
               .execute().collect())
    return int(metrics[0]["num_updated_rows"]) if metrics else 0
