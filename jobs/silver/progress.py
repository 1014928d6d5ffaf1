"""Where incremental silver jobs stand: committed bronze batches (watermarks: jobs.common.watermarks)."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def committed_batch(spark: SparkSession, files_path: str, source: str) -> int:
    """Highest bronze batch of `source` whose files are committed (-1 when none).

    Bronze finishes an interrupted batch before claiming the next, so committed batches form a
    prefix: rows of a claimed-but-unfinished batch are never read.
    """
    row = (spark.read.format("delta").load(files_path)
           .where((F.col("source") == source) & (F.col("status") == "committed"))
           .agg(F.max("batch_id").alias("b")).first())
    return -1 if row is None or row["b"] is None else int(row["b"])
