"""Shared helpers of the DAG tests: parsing the DAG folder, tiny landing data, JVM-free lake reads."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"


def parse_dags(folder: Path = DAGS_FOLDER):
    """Parse the DAG folder the way Airflow's DAG processor does (a bundle DagBag)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="dags-folder")


def register_dag(dag) -> None:
    """Serialise a DAG built in a test (not in the DAG folder) so that `dag.test()` can run it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()      # the bundle row the DAG refers to
    bag = DagBag(dag_folder=os.devnull, collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def utc_day(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.UTC)


def lake_env(tmp: Path, sources: tuple[str, ...] = ("events",)) -> dict[str, str]:
    """C360__ overrides pointing the pipeline at a temporary landing zone and lake, with only
    `sources` enabled (each enabled source is one more spark-submit per run)."""
    from jobs.registry import SOURCES

    env = {
        "C360__ENV": "test",
        "C360__PATHS__LANDING": str(tmp / "landing"),
        "C360__PATHS__LAKE": str(tmp / "lake"),
        "C360__PATHS__TRUTH": str(tmp / "truth"),
        "C360__PATHS__CHECKPOINTS": str(tmp / "checkpoints"),
        "C360__PATHS__RESTRICTED": str(tmp / "restricted"),
        # a tiny-data driver: small heap, few partitions
        "C360__SPARK__CONF__spark.driver.memory": "1g",
        "C360__SPARK__CONF__spark.sql.shuffle.partitions": "2",
        "C360__SPARK__CONF__spark.default.parallelism": "2",
    }
    for source in SOURCES:
        env[f"C360__SOURCES__{source.upper()}__ENABLED"] = "true" if source in sources else "false"
    return env


def write_events(landing: Path, day: str, good: int, bad: int = 0, part: int = 1) -> Path:
    """landing/events/<day>/part-NNNN.jsonl with `good` valid Segment messages and `bad` broken lines."""
    folder = landing / "events" / day
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(good):
        lines.append(json.dumps({
            "messageId": f"{day}-{part}-{i}", "type": "track", "timestamp": f"{day}T10:{i % 60:02d}:00Z",
            "userId": f"c{i}", "event": "Product Viewed", "properties": {"sku": f"S{i}"},
        }))
    lines += ['{"messageId": "broken", "type": '] * bad
    path = folder / f"part-{part:04d}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_table(lake: Path, table: str) -> list[dict] | None:
    """Rows of a Delta table under the lake, read with delta-rs (no JVM); None if it does not exist."""
    from deltalake import DeltaTable

    layer, _, entity = table.partition(".")
    path = str(lake / layer / entity)
    if not DeltaTable.is_deltatable(path):
        return None
    return DeltaTable(path).to_pyarrow_table().to_pylist()
