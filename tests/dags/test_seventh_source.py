"""A seventh source is a contract file and a conform module, nothing more (jobs.common.sources).

The fixture tests/data/seventh_source/ holds loyalty.yaml and loyalty.py; naming the folder in
C360_SOURCE_PATH adds the source. A fresh interpreter (as the DAG processor) shows it in the
registry and the daily DAG; in this process the bronze gate judges it by the suite its contract
implies, and silver conforms it with its module.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from jobs.bronze import ingest
from jobs.common.sources import SOURCE_PATH_ENV
from jobs.generate.contract import GENERATED_SOURCES
from jobs.quality import GateFailed
from jobs.quality import gate as bronze_gate
from jobs.silver import conform
from tests.conftest import make_config
from tests.dags.helpers import DAGS_FOLDER, PROJECT_ROOT

FIXTURE = PROJECT_ROOT / "tests" / "data" / "seventh_source"
DAY = dt.date(2026, 11, 20)
CONTRACT_SUITE = ["columns_as_declared", "lineage_present", "required_fields_present", "kind_allowed"]


def test_registry_and_daily_dag_follow_the_source_files():
    script = f"""
import json, sys
sys.path.insert(0, {str(DAGS_FOLDER)!r})
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
from jobs import registry
jobs = {{j.name: j for j in registry.JOBS}}
bag = BundleDagBag(dag_folder={str(DAGS_FOLDER)!r}, bundle_path=Path({str(DAGS_FOLDER)!r}), bundle_name="dags-folder")
daily = bag.dags["customer360_daily"]
tasks = {{t.task_id: sorted(t.upstream_task_ids) for t in daily.tasks}}
print(json.dumps({{"errors": list(bag.import_errors), "sources": registry.SOURCES, "tasks": tasks,
                  "ingest": jobs["ingest_loyalty"].outputs, "silver": jobs["silver_loyalty"].outputs,
                  "gate_inputs": jobs["gate_bronze"].inputs, "gate_after": jobs["gate_bronze"].depends_on,
                  "identity_after": jobs["resolve_identity"].depends_on}}))
"""
    env = {**os.environ, SOURCE_PATH_ENV: str(FIXTURE)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["errors"] == []
    assert seen["sources"] == sorted((*GENERATED_SOURCES, "loyalty"))
    assert seen["ingest"][0] == "bronze.loyalty"
    assert seen["silver"][:2] == ["silver.touchpoints", "silver.identity_nodes"]   # read from loyalty.py
    assert "bronze.loyalty" in seen["gate_inputs"]
    assert "ingest_loyalty" in seen["gate_after"] and "silver_loyalty" in seen["identity_after"]
    ingest_task = next(t for t in seen["tasks"] if t.endswith("ingest_loyalty"))
    silver_task = next(t for t in seen["tasks"] if t.endswith("silver_loyalty"))
    gate_task = next(t for t in seen["tasks"] if t.endswith("gate_bronze"))
    assert ingest_task in seen["tasks"][gate_task] or any(
        ingest_task in seen["tasks"][up] for up in seen["tasks"][gate_task])
    assert silver_task != ingest_task


def _land(config, lines: list[dict]) -> None:
    folder = config.paths.landing / "loyalty" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-0.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.fixture
def loyalty_config(tmp_path, monkeypatch):
    monkeypatch.setenv(SOURCE_PATH_ENV, str(FIXTURE))
    return make_config(tmp_path, **{f"sources.{s}.enabled": False for s in GENERATED_SOURCES})


def test_bronze_gate_and_silver_take_the_source_from_its_files(spark, loyalty_config, tmp_path):
    config, gx = loyalty_config, tmp_path / "gx"
    assert config.enabled_sources() == ["loyalty"]
    good = [{"event_id": f"l{i}", "customer_id": f"C{i}", "kind": "earned", "points": 10 * i,
             "occurred_at": f"{DAY}T{i:02d}:00:00Z"} for i in range(5)]
    _land(config, [*good, {"event_id": "l5", "kind": "earned", "occurred_at": f"{DAY}T06:00:00Z"},
                   {"event_id": "l6", "customer_id": "C6", "kind": "bogus", "occurred_at": f"{DAY}T07:00:00Z"}])

    ingested = ingest.run(spark, config, source="loyalty", run_id="loyalty-1")
    assert (ingested.rows_in, ingested.rows_out) == (7, 5)          # the contract quarantined two
    passed = bronze_gate.run(spark, config, run_id="loyalty-1", logical_date=DAY, gx_folder=gx)
    assert passed.rows_in == 5
    judged = (spark.read.format("delta").load(str(config.paths.table("ops.quality_results")))
              .where(F.col("table_name") == "bronze.loyalty"))
    assert sorted(r.expectation for r in judged.collect()) == sorted(CONTRACT_SUITE)
    assert judged.where(~F.col("success")).count() == 0

    silver = conform.run(spark, config, source="loyalty", run_id="loyalty-1")
    touchpoints = spark.read.format("delta").load(str(config.paths.table("silver.touchpoints")))
    assert silver.rows_in == 5
    assert sorted(r.source_record_id for r in touchpoints.where(F.col("source") == "loyalty").collect()) == [
        f"l{i}" for i in range(5)]

    # A value the contract does not allow, written behind the ingestion's back, fails the gate.
    DeltaTable.forPath(spark, str(config.paths.table("bronze.loyalty"))).update(
        "event_id = 'l0'", {"kind": "'bogus'"})
    with pytest.raises(GateFailed, match="kind_allowed"):
        bronze_gate.run(spark, config, run_id="loyalty-1", logical_date=DAY, gx_folder=gx)
