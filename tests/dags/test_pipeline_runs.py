"""ops.pipeline_runs: the JVM-free recorder, the Airflow callbacks that spawn it, Spark reading it."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from c360_dags import callbacks

from jobs.common.contracts import table_schema
from jobs.common.errors import JobError
from jobs.ops import pipeline_runs
from tests.conftest import make_config
from tests.dags.helpers import lake_env, read_table


def test_record_appends_rows_matching_the_declared_schema(tmp_path):
    config = make_config(tmp_path)
    pipeline_runs.record(config, [pipeline_runs.make_row(
        dag_id="d", run_id="r1", status="failed", task_id="ingest_events",
        logical_date=dt.date(2026, 11, 21), try_number=3, error="x" * 10_000)])
    pipeline_runs.record(config, [pipeline_runs.make_row(dag_id="d", run_id="r1", status="success")])
    rows = pipeline_runs.read(config).to_pylist()
    assert [r["status"] for r in rows] == ["failed", "success"] or \
           sorted(r["status"] for r in rows) == ["failed", "success"]
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["task_id"] == "ingest_events" and failed["try_number"] == 3
    assert failed["logical_date"] == dt.date(2026, 11, 21)
    assert len(failed["error"]) == pipeline_runs.MAX_ERROR_CHARS
    assert list(rows[0]) == [c.name for c in table_schema("ops.pipeline_runs").columns]


def test_record_refuses_an_unknown_status(tmp_path):
    with pytest.raises(JobError, match="status 'oops' not allowed"):
        pipeline_runs.make_row(dag_id="d", run_id="r", status="oops")


def test_task_failure_callback_records_the_failure(tmp_path, restore_env):
    restore_env.update(lake_env(tmp_path))
    ti = SimpleNamespace(dag_id="customer360_daily", run_id="scheduled__2026-11-21", task_id="gate_bronze",
                         try_number=1, start_date=dt.datetime(2026, 11, 22, 0, 5, tzinfo=dt.UTC),
                         log_url="http://localhost:8080/log")
    context = {"ti": ti, "exception": RuntimeError("3 expectations failed on bronze.events"),
               "logical_date": dt.datetime(2026, 11, 21, tzinfo=dt.UTC)}
    callbacks.on_task_failure(context)
    rows = read_table(tmp_path / "lake", "ops.pipeline_runs")
    assert len(rows) == 1
    row = rows[0]
    assert (row["dag_id"], row["task_id"], row["status"]) == ("customer360_daily", "gate_bronze", "failed")
    assert row["error"] == "RuntimeError: 3 expectations failed on bronze.events"
    assert row["logical_date"] == dt.date(2026, 11, 21)
    assert row["log_url"] == "http://localhost:8080/log"


def test_callbacks_never_raise(tmp_path, restore_env):
    restore_env.update(lake_env(tmp_path))
    restore_env["C360__ENV"] = "not-an-env"          # the recorder will refuse this config
    callbacks.on_task_failure({"ti": SimpleNamespace(dag_id="d", run_id="r", task_id="t")})
    callbacks.on_run_success({})                     # no dag_run at all: nothing recorded, no error
    assert read_table(tmp_path / "lake", "ops.pipeline_runs") is None


def test_spark_reads_the_table_with_its_column_comments(spark, tmp_path):
    config = make_config(tmp_path)
    pipeline_runs.record(config, [pipeline_runs.make_row(dag_id="d", run_id="r1", status="success",
                                                         started_at=dt.datetime(2026, 11, 22, 1, 0))])
    df = spark.read.format("delta").load(str(config.paths.table("ops.pipeline_runs")))
    row = df.collect()[0]
    assert row.status == "success" and row.started_at == dt.datetime(2026, 11, 22, 1, 0)
    comments = {f.name: f.metadata.get("comment") for f in df.schema.fields}
    assert comments["run_id"].startswith("Airflow run id")
