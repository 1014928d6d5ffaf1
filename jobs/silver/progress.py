"""Where incremental silver jobs stand: committed bronze batches and per-job watermarks."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.common.results import utc_now


def committed_batch(spark: SparkSession, files_path: str, source: str) -> int:
    """Highest bronze batch of `source` whose files are committed (-1 when none).

    Bronze finishes an interrupted batch before claiming the next, so committed batches form a
    prefix: rows of a claimed-but-unfinished batch are never read.
    """
    row = (spark.read.format("delta").load(files_path)
           .where((F.col("source") == source) & (F.col("status") == "committed"))
           .agg(F.max("batch_id").alias("b")).first())
    return -1 if row is None or row["b"] is None else int(row["b"])


def read_watermark(spark: SparkSession, path: str, job: str, input_table: str) -> int:
    row = (spark.read.format("delta").load(path)
           .where((F.col("job") == job) & (F.col("input_table") == input_table))
           .orderBy(F.col("recorded_at").desc(), F.col("watermark").desc()).select("watermark").first())
    return -1 if row is None else int(row["watermark"])


def save_watermark(spark: SparkSession, path: str, job: str, input_table: str, watermark: int, run_id: str) -> None:
    row = [(job, input_table, int(watermark), run_id, utc_now())]
    (spark.createDataFrame(row, "job string, input_table string, watermark bigint, run_id string, recorded_at timestamp")
     .write.format("delta").mode("append").save(path))
