"""Undo one run's commits to published tables: how the gold gate's `fail` keeps gold unchanged.

Gold is written by its jobs and judged whole afterwards (one row per customer needs the merged
table), so a failed gold gate restores every gold table the run changed to the version it had
before the run's first commit. Commits are found by the run id that `jobs.common.tables.
commits_tagged` stores in each commit's userMetadata (every job run through `jobs.__main__`).
The run's watermarks of those jobs go too: the next run then recomputes from the state the
restored tables hold, instead of believing it already processed this run's input.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.tables import commit_run_id, table_exists

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restored:
    table: str
    from_version: int
    to_version: int | None   # None: the run created the table, so it was emptied

    def line(self) -> str:
        if self.to_version is None:
            return f"{self.table} emptied (it was created by this run)"
        return f"{self.table} back to version {self.to_version} (was {self.from_version})"


def run_versions(spark: SparkSession, path: str, run_id: str) -> tuple[list[int], int]:
    """(versions the run committed, latest version) of one Delta table."""
    from delta.tables import DeltaTable

    history = DeltaTable.forPath(spark, path).history().select("version", "userMetadata").collect()
    mine = sorted(r["version"] for r in history if commit_run_id(r["userMetadata"]) == run_id)
    return mine, max(r["version"] for r in history)


def restore_before_run(spark: SparkSession, config: Config, tables: list[str], run_id: str,
                       jobs: list[str]) -> list[Restored]:
    """Restore each table the run changed to its last version before the run; drop the run's
    watermarks of `jobs` from ops.job_watermarks. Tables the run did not touch stay as they are."""
    from delta.tables import DeltaTable

    restored = []
    for table in tables:
        path = str(config.paths.table(table))
        if not table_exists(spark, path):
            continue
        mine, latest = run_versions(spark, path, run_id)
        if not mine:
            continue
        target = mine[0] - 1
        delta = DeltaTable.forPath(spark, path)
        if target < 0:
            delta.delete()            # nothing in it was ever gated
            restored.append(Restored(table, latest, None))
        elif target != latest:
            delta.restoreToVersion(target)
            restored.append(Restored(table, latest, target))
    marks = str(config.paths.table("ops.job_watermarks"))
    if jobs and table_exists(spark, marks):
        DeltaTable.forPath(spark, marks).delete((F.col("run_id") == run_id) & F.col("job").isin(*jobs))
    for r in restored:
        log.warning("gate rollback: %s", r.line())
    return restored
