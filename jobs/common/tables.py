"""Delta table helpers: create from a declared schema (with column comments), idempotent appends,
catalog registration so `SELECT ... FROM bronze.events` works in SQL sessions."""

from __future__ import annotations

import contextlib
import json
import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DataType, StructField, StructType

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


def latest_version(spark: SparkSession, path: str) -> int | None:
    """The table's latest Delta version, None when there is no table at `path`.

    Asks the session's Delta log directly (~10 ms): `DeltaTable.history(1)` runs a Spark job
    (~250 ms), which gates asking once per table felt. The call is Delta's internal Scala API
    (DeltaLog.update(isAsync, catalogTable, lastCheckpoint)), pinned with delta-spark and
    exercised by the tests: an upgrade that changes it fails them loudly.
    """
    jvm = spark.sparkContext._jvm
    log_ = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    empty = jvm.scala.Option.empty()
    version = log_.update(False, empty, empty).version()
    return None if version < 0 else int(version)


def pinned_table(spark: SparkSession, path: str, version: int) -> DataFrame:
    """The Delta table at `version`, read through the list of its data files taken once.

    For a caller that runs many queries over one version (a gate: ~40 queries over 8 tables).
    Every query of a Delta path, even `VERSION AS OF`, makes Delta filter the snapshot's file
    list again before planning (a Spark job or two: about a third of a bronze gate's jobs).
    Here the list is collected once and the frame is Delta's own relation over a fixed file list
    (DeltaLog.createDataFrame, what its MERGE and UPDATE read through), so deletion vectors and
    column mapping hold as in any Delta read. The Spark predicates on it still prune row groups;
    Delta's file-level data skipping is given up, which a gate reading this run's rows and whole
    tables for their history does not miss. Internal Scala API like `latest_version`: pinned
    with delta-spark and exercised by the tests (same rows as a `versionAsOf` read, deleted rows
    stay deleted, later commits unseen).
    """
    jvm = spark.sparkContext._jvm
    log_ = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    none = jvm.scala.Option.empty()
    snapshot = log_.getSnapshotAt(version, none, none, False)
    files = jvm.scala.collection.immutable.ArraySeq.unsafeWrapArray(snapshot.allFiles().collect())
    return DataFrame(log_.createDataFrame(snapshot, files, False, none), spark)


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
        if schema.partition_by:
            builder = builder.partitionedBy(*schema.partition_by)
        builder.execute()
    except Exception:  # noqa: BLE001 - re-raised below unless another writer created it
        if not created_meanwhile(spark, path):
            raise
    return path


def created_meanwhile(spark: SparkSession, path: str) -> bool:
    """After losing a creation race (another process committed version 0 first): this session's
    cached log of the path still says "no table", so drop that cache and read the table afresh."""
    jvm = spark.sparkContext._jvm
    try:
        jvm.org.apache.spark.sql.delta.DeltaLog.invalidateCache(spark._jsparkSession,
                                                                jvm.org.apache.hadoop.fs.Path(path))
    except Exception:  # noqa: BLE001 - best effort: the read below refreshes the log anyway
        log.debug("could not invalidate the Delta log cache of %s", path, exc_info=True)
    try:
        spark.read.format("delta").load(path).schema  # noqa: B018 - resolving the table refreshes its log
    except Exception:  # noqa: BLE001 - no table there after all
        return False
    return table_exists(spark, path)


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
# made the commit. The gold gate undoes a run's commits with it; audits and erasure can trace them.
COMMIT_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"


@contextlib.contextmanager
def commits_tagged(spark: SparkSession, run_id: str, job: str):
    """Tag every Delta commit made inside the block with {"run_id", "job"}."""
    previous = spark.conf.get(COMMIT_METADATA_CONF, None)
    spark.conf.set(COMMIT_METADATA_CONF, json.dumps({"run_id": run_id, "job": job}, sort_keys=True))
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(COMMIT_METADATA_CONF)
        else:
            spark.conf.set(COMMIT_METADATA_CONF, previous)


def commit_run_id(user_metadata: str | None) -> str | None:
    """The run id a commit was tagged with by commits_tagged (None for any other commit)."""
    if not user_metadata:
        return None
    try:
        meta = json.loads(user_metadata)
    except ValueError:
        return None
    return meta.get("run_id") if isinstance(meta, dict) else None
