"""Delta table helpers: create from a declared schema (with column comments), idempotent appends,
catalog registration so `SELECT ... FROM bronze.events` works in SQL sessions."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, MapType, StructField, StructType

from jobs.common.config import Config
from jobs.common.contracts import TableSchema

log = logging.getLogger(__name__)


def spark_schema(schema: TableSchema) -> StructType:
    return StructType([
        StructField(c.name, DataType.fromDDL(c.type), c.nullable, {"comment": c.description})
        for c in schema.columns
    ])


def table_exists(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, path)


def latest_version(path: str) -> int | None:
    """The table's latest Delta version, None when there is no table at `path`.

    Read by delta-rs from the transaction log itself (~10 ms, no Spark job, no session cache that
    could be stale after another process committed): `DeltaTable.history(1)` runs a Spark job
    (~250 ms), which gates asking once per table feel. Every writer commits through the same log,
    so the version is the one a Spark `versionAsOf` read then sees.
    """
    from deltalake import DeltaTable as DeltaLakeTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return int(DeltaLakeTable(path).version())
    except TableNotFoundError:
        return None


def read_table(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    """The Delta table at `path`, at `version` (a pinned read, blind to later commits) or latest."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


# Kinds of column whose min/max Delta may keep in its log. Text is left out: a file's smallest and
# largest customer_key, email hash or name would sit in the transaction log, which an erasure
# cannot rewrite (jobs.privacy.erase), and our text keys are random hashes that skip no file anyway.
_STATISTICS_TYPES = ("int", "bigint", "smallint", "tinyint", "double", "float", "decimal", "date",
                     "timestamp")   # Delta keeps no statistics for booleans


def statistics_properties(schema: TableSchema) -> dict[str, str]:
    """Table properties limiting Delta's file statistics to the schema's non-text columns. The list
    is fixed at creation: a column added later has no statistics, and dropping a listed column
    needs the list changed first (ALTER TABLE ... SET TBLPROPERTIES)."""
    kept = [c.name for c in schema.columns if c.type.split("(")[0].strip().lower() in _STATISTICS_TYPES]
    if not kept:
        return {"delta.dataSkippingNumIndexedCols": "0"}
    return {"delta.dataSkippingStatsColumns": ",".join(kept)}


def ensure_table(spark: SparkSession, config: Config, schema: TableSchema) -> str:
    """Create the Delta table at its lake path if missing; return the path.

    Parallel jobs (one per source in Airflow) may race to create ops tables: losing the race
    is fine as long as the table exists afterwards.
    """
    from delta.tables import DeltaTable

    path = str(config.paths.table(schema.table))
    if table_exists(spark, path):
        return path
    try:
        builder = (DeltaTable.createIfNotExists(spark).location(path)
                   .addColumns(spark_schema(schema)).comment(schema.description))
        for key, value in statistics_properties(schema).items():
            builder = builder.property(key, value)
        if schema.partition_by:
            builder = builder.partitionedBy(*schema.partition_by)
        builder.execute()
    except Exception:  # noqa: BLE001 - re-raised below unless another writer created it
        if not created_meanwhile(path):
            raise
    return path


def created_meanwhile(path: str) -> bool:
    """After losing a creation race (another process committed version 0 first): is the table
    there now? Asked of the log itself, not this session's cache of it, which may still say no."""
    return latest_version(path) is not None


def append_once(df: DataFrame, path: str, app_id: str, version: int) -> None:
    """Append exactly once: Delta skips a write whose (txnAppId, txnVersion) it already committed."""
    (df.write.format("delta").mode("append")
     .option("txnAppId", app_id).option("txnVersion", version)
     .save(path))


def register_tables(spark: SparkSession, config: Config) -> list[str]:
    """Register every Delta table under the lake as <layer>.<entity> in the session catalog."""
    from delta.tables import DeltaTable

    names = []
    lake = config.paths.lake
    if not lake.is_dir():
        return names
    for layer_dir in sorted(p for p in lake.iterdir() if p.is_dir()):
        for table_dir in sorted(p for p in layer_dir.iterdir() if p.is_dir()):
            if not DeltaTable.isDeltaTable(spark, str(table_dir)):
                continue
            name = f"{layer_dir.name}.{table_dir.name}"
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer_dir.name}")
            spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{table_dir}'")
            names.append(name)
    return names


# Delta records this session setting in every commit's commitInfo.userMetadata: which run and job
# made the commit, so a table's history says which run and job wrote each version (audits, erasure).
COMMIT_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"


@contextlib.contextmanager
def session_setting(spark: SparkSession, key: str, value: str):
    """Set a session configuration for the block only, then put back what was there (or nothing)."""
    previous = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, previous)


def commits_tagged(spark: SparkSession, run_id: str, job: str):
    """Tag every Delta commit made inside the block with {"run_id", "job"}."""
    return session_setting(spark, COMMIT_METADATA_CONF, json.dumps({"run_id": run_id, "job": job}, sort_keys=True))


def merge_counts(result: DataFrame | None) -> dict[str, int]:
    """The rows a MERGE inserted, updated and deleted, from what its execute() returned."""
    rows = result.collect() if result is not None else []
    row = rows[0].asDict() if rows else {}
    return {k: int(row.get(f"num_{k}_rows") or 0) for k in ("inserted", "updated", "deleted")}


def comparable(col: Column, is_map: bool) -> Column:
    """Maps cannot be compared in Spark; their JSON (entries in key order) can."""
    return F.to_json(F.map_from_entries(F.array_sort(F.map_entries(col)))) if is_map else col


def merge_state(spark: SparkSession, path: str, state: DataFrame, keys: Sequence[str], *,
                run_column: str = "_gold_run_id", scope: Column | None = None,
                stamps: Sequence[str] = ()) -> dict:
    """Make the table (or the part of it `scope` selects) equal to `state`, rewriting only what
    differs: changed rows are updated, new ones inserted, rows `state` no longer holds deleted.

    Idempotent: merging the same state twice changes nothing the second time. `stamps` are
    columns that say when a row was made (scored_at): like the run column, a difference in them
    alone leaves the row as it was, so a re-run keeps the first stamp.

    A column of `state` the table lacks (one just declared) is added by this MERGE, in the same
    commit as its values: readers never see it empty, and a crash before leaves it missing.
    """
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, path)
    existing = set(table.toDF().columns)
    added = [c for c in state.columns if c not in existing]
    maps = {f.name for f in state.schema.fields if isinstance(f.dataType, MapType)}
    compared = [c for c in state.columns if c not in (*keys, run_column, *stamps, *added)]
    cond = F.lit(True)
    for k in keys:
        cond = cond & (F.col(f"t.`{k}`") == F.col(f"s.`{k}`"))
    changed = F.lit(bool(added))    # a new column changes every row
    for c in compared:
        changed = changed | ~comparable(F.col(f"s.`{c}`"), c in maps).eqNullSafe(
            comparable(F.col(f"t.`{c}`"), c in maps))
    merge = table.alias("t").merge(state.alias("s"), cond)
    if added:
        log.info("%s: adding column(s) %s", path, ", ".join(added))
        merge = merge.withSchemaEvolution()
    return merge_counts(merge.whenMatchedUpdateAll(condition=changed)
                        .whenNotMatchedInsertAll()
                        .whenNotMatchedBySourceDelete(condition=scope)
                        .execute())
