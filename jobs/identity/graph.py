"""Connected components of the identifier graph, computed in Spark (nothing collected).

Min-label propagation: every node starts with its own id as label and takes the smallest label
among its neighbours until nothing changes. Identity graphs are shallow (a customer id, its
devices, emails and phones), so this converges in a handful of rounds; each round is
checkpointed so the plan does not grow.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

log = logging.getLogger(__name__)
MAX_ROUNDS = 50


def undirected(edges: DataFrame) -> DataFrame:
    """(src, dst) both ways from (left_node, right_node)."""
    pairs = edges.select(F.col("left_node").alias("src"), F.col("right_node").alias("dst"))
    return pairs.unionByName(pairs.select(F.col("dst").alias("src"), F.col("src").alias("dst"))).distinct()


def connected_components(nodes: DataFrame, edges: DataFrame) -> DataFrame:
    """nodes(node), edges(left_node, right_node) -> (node, component) with component = min node id."""
    both = undirected(edges).localCheckpoint()
    labels = nodes.select("node").distinct().withColumn("component", F.col("node")).localCheckpoint()
    for round_no in range(1, MAX_ROUNDS + 1):
        offered = (both.join(labels, both.src == labels.node)
                   .select(F.col("dst").alias("node"), F.col("component").alias("offered")))
        best = offered.groupBy("node").agg(F.min("offered").alias("offered"))
        updated = (labels.join(best, "node", "left")
                   .select("node", F.least("component", F.coalesce("offered", "component")).alias("component"),
                           (F.col("offered") < F.col("component")).alias("_changed"))
                   .localCheckpoint())
        changed = updated.where("_changed").count()
        labels = updated.drop("_changed")
        log.info("connected components: round %d, %d labels changed", round_no, changed)
        if changed == 0:
            return labels
    raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
