"""Write-audit-publish for the tables a publishing gate guards (gold, scores).

Their jobs write in place (gold needs the merged table to judge one row per customer). The gate
then judges the versions they left and, only when it passes, records those versions in
ops.published_versions. Everyone outside the writing stage reads a guarded table at its latest
published version: the Spark SQL shell and the JVM-free DuckDB path (jobs.gold.access), the
notebooks through them, and jobs of later stages. So a gate that fails changes nothing anyone
reads, and nothing has to be undone in a hurry: the next run of a writer starts from the published
version (`reset_to_published`, called by the job runner before the writer runs), which restores
the table and drops the watermarks the unpublished run recorded.

Nothing is published until a gate publishes it: in a lake from before this protocol the writers'
next run starts afresh (tables emptied, watermarks dropped: a full rebuild) and its gate publishes.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TABLE = "ops.published_versions"
WATERMARKS = "ops.job_watermarks"


def table_path(lake: Path, table: str) -> Path:
    layer, _, entity = table.partition(".")
    return Path(lake) / layer / entity


@dataclass(frozen=True)
class Publication:
    version: int
    run_id: str
    published_at: dt.datetime


def publications(lake: Path) -> dict[str, Publication]:
    """table -> its latest publication (a table never published is absent).

    Read with delta-rs, without Spark: the JVM-free reader needs it as much as the jobs do."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        rows = DeltaTable(str(table_path(lake, TABLE))).to_pyarrow_table().to_pylist()
    except TableNotFoundError:
        return {}    # no gate has published yet
    latest: dict[str, Publication] = {}
    for row in sorted(rows, key=lambda r: (r["published_at"], r["version"])):
        latest[row["table_name"]] = Publication(row["version"], row["run_id"], row["published_at"])
    return latest


def published_version(lake: Path, table: str) -> int | None:
    """The version of a guarded `table` that readers outside its writing stage see: its latest
    published one, None when it was never published."""
    publication = publications(lake).get(table)
    return None if publication is None else publication.version


def input_version(lake: Path, table: str, own_stage: tuple[str, ...]) -> int | None:
    """The version a job reads of its input `table`: the published one of a gated table another stage
    writes (None when never published), else the latest (its own stage's tables, ungated tables)."""
    from jobs.common.tables import latest_version
    from jobs.registry import PUBLISHED_TABLES

    if table in PUBLISHED_TABLES and table not in own_stage:
        return published_version(lake, table)
    return latest_version(str(table_path(lake, table)))


def publish(spark, lake: Path, versions: dict[str, int], run_id: str, gate: str) -> None:
    """Record the judged `versions` as published (one commit)."""
    from jobs.common.contracts import table_schema
    from jobs.common.results import utc_now
    from jobs.common.tables import spark_schema

    now = utc_now()
    rows = [(table, int(version), run_id, gate, now) for table, version in sorted(versions.items())]
    (spark.createDataFrame(rows, spark_schema(table_schema(TABLE)))
     .write.format("delta").mode("append").save(str(table_path(lake, TABLE))))
    log.info("%s published %s", gate, ", ".join(f"{t} v{v}" for t, v in sorted(versions.items())))


def reset_to_published(spark, lake: Path, job: str, tables: tuple[str, ...]) -> list[str]:
    """Before `job` writes `tables` (guarded by a publishing gate): bring each back to its latest
    published version, emptied when never published, and drop the job's watermarks recorded by
    unpublished runs since the last publication. Returns what it did, one line per table."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from jobs.common.tables import latest_version

    published = publications(lake)
    done = []
    for table in tables:
        path = str(table_path(lake, table))
        latest = latest_version(path)
        publication = published.get(table)
        if latest is None or (publication is not None and publication.version == latest):
            continue
        delta = DeltaTable.forPath(spark, path)
        if publication is None:
            if delta.toDF().limit(1).count():
                delta.delete()
                done.append(f"{table} emptied (never published)")
        elif not _restored_to(delta, publication.version):
            delta.restoreToVersion(publication.version)
            done.append(f"{table} back to published version {publication.version} (was {latest})")
    marks = str(table_path(lake, WATERMARKS))
    if done and latest_version(marks) is not None:
        # The watermarks of the runs whose writes just went: recorded since the last publication.
        own = [published[t] for t in tables if t in published]
        unpublished = F.col("job") == job
        if own:
            unpublished &= ((F.col("recorded_at") > F.lit(max(p.published_at for p in own)))
                            & ~F.col("run_id").isin(*{p.run_id for p in own}))
        DeltaTable.forPath(spark, marks).delete(unpublished)
    for line in done:
        log.warning("%s: %s: an earlier run's writes were never published", job, line)
    return done


def _restored_to(delta, version: int) -> bool:
    """Whether the table's latest commit restored it to `version` (an earlier reset, nothing since)."""
    last = delta.history(1).first()
    return last["operation"] == "RESTORE" and str(last["operationParameters"].get("version")) == str(version)
