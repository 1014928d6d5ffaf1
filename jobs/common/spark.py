"""The one Spark session factory: Delta on, UTC, small-machine defaults, everything overridable.

Under `spark-submit` the master and settings given there win; the same jobs then run
unchanged on a cluster.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from jobs.common.config import PROJECT_ROOT, Config

log = logging.getLogger(__name__)

DELTA_SCALA_ARTIFACT = "delta-spark_4.2_2.13"
IVY_DIR = PROJECT_ROOT / ".cache" / "ivy"

# Settings every session gets unless the config overrides them; one line of why each.
BASE_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.session.timeZone": "UTC",                    # every _at column is UTC
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",  # and so is the JVM's own clock
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",     # fast toPandas for small results
    "spark.databricks.delta.schema.autoMerge.enabled": "false",  # schema changes are deliberate
    "spark.sql.warehouse.dir": str(PROJECT_ROOT / ".cache" / "spark-warehouse"),
}
# Only for a local master: no reliance on the hostname resolving. A cluster needs a reachable driver.
LOCAL_ONLY_CONF = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def delta_jar_settings(mode: str) -> dict[str, str]:
    """Delta's jars: fetched once through Ivy into .cache/ivy, then handed to Spark as files."""
    if mode == "none":
        return {}
    import importlib.metadata as md

    version = md.version("delta-spark")
    jars_dir = IVY_DIR / "jars"
    main_jar = jars_dir / f"io.delta_{DELTA_SCALA_ARTIFACT}-{version}.jar"
    storage_jar = jars_dir / f"io.delta_delta-storage-{version}.jar"
    if main_jar.is_file() and storage_jar.is_file():
        # Only Delta's own two jars: Ivy also retrieves old Jackson/Hadoop/Parquet jars that
        # Spark already ships in newer versions; Delta's Spark path needs none of them.
        return {"spark.jars": f"{main_jar},{storage_jar}"}
    log.info("fetching Delta %s jars from Maven Central into %s (once)", version, IVY_DIR)
    return {
        "spark.jars.packages": f"io.delta:{DELTA_SCALA_ARTIFACT}:{version}",
        "spark.jars.ivy": str(IVY_DIR),
    }


def build_spark(config: Config, app_name: str | None = None, extra_conf: dict[str, str] | None = None):
    """Create (or return the running) SparkSession configured for this project."""
    from pyspark.sql import SparkSession

    # Python workers must run the project's interpreter, or they cannot import our deps.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    builder = SparkSession.builder.appName(app_name or config.spark.app_name)
    if not _under_spark_submit():
        builder = builder.master(config.spark.master)
    settings = dict(BASE_CONF)
    if config.spark.master.startswith("local") and not _under_spark_submit():
        settings.update(LOCAL_ONLY_CONF)
    settings.update(delta_jar_settings(config.spark.delta_jars))
    settings.update(config.spark.conf)
    settings.update(extra_conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    Path(settings["spark.sql.warehouse.dir"]).mkdir(parents=True, exist_ok=True)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _create_query_context_loggers()
    return spark


def _create_query_context_loggers() -> None:
    """Create PySpark's query-context loggers now, on this thread. PySpark creates each when the first
    analysis error is raised, by swapping the process-wide logger class around logging.getLogger; a
    gate raises those errors on several threads at once, so one thread's swap back can make the other
    create a plain Logger, which then fails on PySpark's extra keywords (TypeError: 'errorClass')."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name)


def _under_spark_submit() -> bool:
    """spark-submit starts Python itself and hands it a gateway port; its --master then wins."""
    return os.environ.get("PYSPARK_GATEWAY_PORT") is not None
