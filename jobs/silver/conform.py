"""Silver job per source: read the bronze rows committed since the last run, standardise them,
and MERGE them into the source's silver tables; then record watermark and reconciliation.

    python -m jobs run silver_orders [--full-rebuild]

Incremental by default (bronze batches after the job's watermark); `--full-rebuild` clears
what this source wrote and reads bronze from the start, giving the same tables.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.contracts import bronze_schema, table_schema
from jobs.common.privacy import resolve_secret
from jobs.common.results import JobResult, utc_now
from jobs.common.tables import ensure_table
from jobs.common.watermarks import read_watermarks, save_watermarks
from jobs.silver.merge import merge_rows, reduce_to_keys, to_table_columns
from jobs.silver.progress import committed_batch
from jobs.silver.sources import spec_for
from jobs.silver.spec import SourceSpec

log = logging.getLogger(__name__)


def _clear(spark: SparkSession, path: str, source: str, shared: bool) -> None:
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, path)
    table.delete(F.col("source") == source) if shared else table.delete()


def reconcile(spark: SparkSession, spec: SourceSpec, bronze: DataFrame, primary_path: str, upto: int) -> dict:
    """Bronze rows up to `upto` against the silver primary table: nothing lost, nothing doubled."""
    landed = bronze.where(F.col("_batch_id") <= upto)
    counts = spec.record_key(landed).agg(F.count(F.lit(1)).alias("rows"),
                                         F.count_distinct("record_key").alias("keys")).first()
    silver = spark.read.format("delta").load(primary_path)
    if "source" in silver.columns:
        silver = silver.where(F.col("source") == spec.source)
    silver_rows = silver.count()
    rows, keys = int(counts["rows"]), int(counts["keys"])
    return {"bronze_rows": rows, "bronze_keys": keys, "silver_rows": silver_rows,
            "merged_rows": rows - keys, "is_reconciled": silver_rows == keys}


def run(spark: SparkSession, config: Config, *, source: str, run_id: str,
        logical_date: dt.date | None = None, full_rebuild: bool = False) -> JobResult:
    started = time.monotonic()
    job = f"silver_{source}"
    spec = spec_for(source)   # an unknown name stops here, with the sources declared
    secret = resolve_secret(config.env)
    bronze_path = ensure_table(spark, config, bronze_schema(source))
    files_path = ensure_table(spark, config, table_schema("ops.ingested_files"))
    marks_path = ensure_table(spark, config, table_schema("ops.job_watermarks"))
    recon_path = ensure_table(spark, config, table_schema("ops.silver_reconciliation"))
    outputs = [(out, table_schema(out.table)) for out in spec.outputs]
    paths = {out.table: ensure_table(spark, config, schema) for out, schema in outputs}

    input_table = f"bronze.{source}"
    if full_rebuild:
        for out, _ in outputs:
            _clear(spark, paths[out.table], source, out.shared)
        watermark = -1
    else:
        watermark = read_watermarks(spark, marks_path, job).get(input_table, -1)
    upto = committed_batch(spark, files_path, source)
    result = JobResult(job=job)
    if upto <= watermark:
        log.info("%s: nothing new in %s (watermark %d)", job, input_table, watermark)
        result.seconds = time.monotonic() - started
        return result

    bronze = spark.read.format("delta").load(bronze_path)
    increment = bronze.where((F.col("_batch_id") > watermark) & (F.col("_batch_id") <= upto))
    conformed = spec.conform(increment, secret).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows_read = conformed.count()
        merged = {}
        for out, schema in outputs:
            t0 = time.monotonic()
            rows = to_table_columns(reduce_to_keys(out.build(conformed), out), schema, run_id)
            merged[out.table] = merge_rows(spark, paths[out.table], rows, out, schema,
                                           partition=source if out.shared else None)
            log.info("%s: %s +%d inserted, %d updated (%.1fs)", job, out.table, merged[out.table]["inserted"],
                     merged[out.table]["updated"], time.monotonic() - t0)
    finally:
        conformed.unpersist()
    save_watermarks(spark, marks_path, job, {input_table: upto}, run_id)

    recon = reconcile(spark, spec, bronze, paths[spec.primary], upto)
    recon_row = {"run_id": run_id, "job": job, "source": source, "silver_table": spec.primary,
                 "batch_from": watermark + 1, "batch_to": upto, "bronze_rows_read": rows_read, **recon,
                 "recorded_at": utc_now()}
    recon_schema = table_schema("ops.silver_reconciliation")
    (spark.createDataFrame([tuple(recon_row[c] for c in recon_schema.column_names)], schema=_ddl(recon_schema))
     .write.format("delta").mode("append").save(recon_path))
    if not recon["is_reconciled"]:
        log.warning("%s: %s holds %d rows for %d distinct bronze records: investigate before promoting",
                    job, spec.primary, recon["silver_rows"], recon["bronze_keys"])
    result.rows_in = rows_read
    result.rows_out = merged[spec.primary]["inserted"]
    result.seconds = time.monotonic() - started
    result.details = {"batches": f"{watermark + 1}..{upto}", "merged_away": recon["merged_rows"],
                      "reconciled": recon["is_reconciled"]}
    return result


def _ddl(schema) -> str:
    return ", ".join(f"{c.name} {c.type}" for c in schema.columns)
