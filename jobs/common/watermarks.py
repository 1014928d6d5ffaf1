"""Where incremental jobs stand: ops.job_watermarks, one row per job, input table and run; the
latest row per job and input wins (a Delta version for gold, a bronze batch id for silver)."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.common.contracts import table_schema
from jobs.common.results import utc_now
from jobs.common.tables import spark_schema

TABLE = "ops.job_watermarks"


def read_watermarks(spark: SparkSession, path: str, job: str) -> dict[str, int]:
    """input_table -> latest watermark of `job` (inputs it never marked are absent), in one read."""
    latest = (spark.read.format("delta").load(path).where(F.col("job") == job)
              .groupBy("input_table")
              .agg(F.max_by("watermark", F.struct("recorded_at", "watermark")).alias("watermark")))
    return {r["input_table"]: int(r["watermark"]) for r in latest.collect()}


def save_watermarks(spark: SparkSession, path: str, job: str, marks: dict[str, int], run_id: str) -> None:
    """One append (one commit) for every input of the job."""
    now = utc_now()
    rows = [(job, table, int(mark), run_id, now) for table, mark in sorted(marks.items())]
    spark.createDataFrame(rows, spark_schema(table_schema(TABLE))).write.format("delta").mode("append").save(path)
