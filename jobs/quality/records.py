"""What a gate writes: its results to ops.quality_results and its `drop` rows to ops.quarantine.

Transformations (rows in, rows out) are pure; the two writers at the bottom do the I/O.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.tables import append_once, ensure_table, spark_schema
from jobs.quality.outcomes import GateResult
from jobs.quality.suite import suite_name

FAILED = "_gate_failed"  # array of the drop expectations a row failed, in suite order


# --- pure ------------------------------------------------------------------------------------
def result_rows(result: GateResult, validated_at: dt.datetime) -> list[tuple]:
    """One ops.quality_results row per expectation, in the table's column order."""
    return [(result.run_id, result.table, result.table_version, result.suite, o.expectation, o.kind,
             o.severity, o.success, o.action, o.error or o.observed, o.unexpected_count, result.rows_in,
             validated_at) for o in result.outcomes]


def flag_drops(conditions: list[tuple[str, Column]]):
    """Add FAILED: names of the drop expectations whose `unexpected` condition is true on the row."""

    def step(df: DataFrame) -> DataFrame:
        names = [F.when(F.coalesce(cond, F.lit(False)), F.lit(name)) for name, cond in conditions]
        return df.withColumn(FAILED, F.filter(F.array(*names), lambda n: n.isNotNull()))

    return step


def kept_rows(flagged: DataFrame) -> DataFrame:
    return flagged.where(F.size(FAILED) == 0).drop(FAILED)


def dropped_rows(flagged: DataFrame, *, stage: str, source: str, batch_id: int, run_id: str,
                 quarantined_at: dt.datetime) -> DataFrame:
    """ops.quarantine rows: reason = the first failed expectation, raw = the whole row as JSON."""
    columns = [c for c in flagged.columns if c != FAILED]
    lineage = {name: (F.col(name) if name in columns else F.lit(None)).cast(kind)
               for name, kind in (("_source_file", "string"), ("_line_number", "bigint"))}
    return flagged.where(F.size(FAILED) > 0).select(
        F.lit(stage).alias("stage"),
        F.lit(source).alias("source"),
        lineage["_source_file"].alias("source_file"),
        lineage["_line_number"].alias("line_number"),
        F.to_json(F.struct(*columns)).alias("raw"),
        F.col(FAILED)[0].alias("reason"),
        F.concat(F.lit(f"failed expectations of expectations/{suite_name(stage)}.yaml: "),
                 F.array_join(F.col(FAILED), ", ")).alias("detail"),
        F.lit(batch_id).cast("bigint").alias("batch_id"),
        F.lit(run_id).alias("run_id"),
        F.lit(quarantined_at).cast("timestamp").alias("quarantined_at"),
    )


# --- I/O -------------------------------------------------------------------------------------
def write_results(spark: SparkSession, config: Config, results: list[GateResult],
                  validated_at: dt.datetime) -> None:
    """Plain append: each validation is an event of its own, a repeated one included."""
    schema = table_schema("ops.quality_results")
    path = ensure_table(spark, config, schema)
    rows = [row for r in results for row in result_rows(r, validated_at)]
    if rows:
        spark.createDataFrame(rows, spark_schema(schema)).write.format("delta").mode("append").save(path)


def write_quarantine(spark: SparkSession, config: Config, rows: DataFrame, table: str,
                     txn_version: int) -> None:
    """Idempotent per promotion: a retry of the same target version appends nothing twice."""
    path = ensure_table(spark, config, table_schema("ops.quarantine"))
    append_once(rows, path, f"gate_{table}", txn_version)
