"""JobSubmitOperator: the spark-submit command, the connection deciding the master, exit codes."""

from __future__ import annotations

import os
import stat

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from c360_dags.operators import JobSubmitOperator, spark_submit_conf

from jobs.common.config import load_config
from tests.dags.helpers import PROJECT_ROOT


def _operator(conn_id="spark_c360", **kwargs):
    return JobSubmitOperator(task_id="ingest_events", job_name="ingest_events", conn_id=conn_id,
                             module_args=["jobs", "run", "ingest_events", "--date", "2026-11-21",
                                          "--run-id", "r1"], **kwargs)


def _command(op, master="local[*]") -> list[str]:
    op.conf = spark_submit_conf(load_config(environ={}), master)
    hook = op._get_hook()
    return hook._build_spark_submit_command(op.application)


def _conf(cmd: list[str]) -> dict[str, str]:
    return dict(cmd[i + 1].split("=", 1) for i, arg in enumerate(cmd) if arg == "--conf")


def test_command_runs_the_jobs_cli_through_submit_py_on_local_master():
    cmd = _command(_operator())
    assert cmd[0] == "spark-submit"
    assert cmd[cmd.index("--master") + 1] == "local[*]"
    tail = cmd[cmd.index(str(PROJECT_ROOT / "jobs" / "submit.py")):]
    assert tail[1:] == ["jobs", "run", "ingest_events", "--date", "2026-11-21", "--run-id", "r1"]
    conf = _conf(cmd)
    # what must be on the command line because the driver JVM starts before our session factory
    assert conf["spark.driver.extraJavaOptions"] == "-Duser.timezone=UTC"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert "delta-spark" in conf.get("spark.jars", conf.get("spark.jars.packages", ""))
    assert conf["spark.driver.memory"] == load_config(environ={}).spark.conf["spark.driver.memory"]
    assert conf["spark.pyspark.python"].endswith("python")
    assert conf["spark.executorEnv.PYTHONPATH"] == str(PROJECT_ROOT)
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"  # local only: no hostname lookup


def test_changing_the_connection_moves_the_jobs_to_a_cluster(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_C360", '{"conn_type": "spark", "host": "spark://spark-master", "port": 7077}')
    cmd = _command(_operator(), master="spark://spark-master:7077")
    assert cmd[cmd.index("--master") + 1] == "spark://spark-master:7077"
    assert "spark.driver.bindAddress" not in _conf(cmd)  # executors must reach the driver


@pytest.fixture
def fake_spark_submit(tmp_path, monkeypatch):
    """A `spark-submit` first on PATH that exits with the code written in $FAKE_EXIT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "spark-submit"
    script.write_text('#!/bin/sh\necho "fake spark-submit $*"\nexit "${FAKE_EXIT:-0}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return monkeypatch


def test_success(fake_spark_submit):
    fake_spark_submit.setenv("FAKE_EXIT", "0")
    _operator().execute({})


def test_a_job_error_fails_at_once_without_retry(fake_spark_submit):
    """Exit code 2 = PipelineError (bad config, failed gate): retrying cannot help."""
    fake_spark_submit.setenv("FAKE_EXIT", "2")
    with pytest.raises(AirflowFailException, match="not retried"):
        _operator().execute({})


def test_a_crash_is_retried(fake_spark_submit):
    """Any other exit code (JVM crash, out of memory, lost executor) leaves retries to Airflow."""
    fake_spark_submit.setenv("FAKE_EXIT", "1")
    with pytest.raises(AirflowException) as raised:
        _operator().execute({})
    assert not isinstance(raised.value, AirflowFailException)


def test_a_missing_connection_fails_clearly_instead_of_falling_back_to_yarn(fake_spark_submit):
    with pytest.raises(AirflowFailException, match="Spark connection 'spark_nowhere' is not defined"):
        _operator(conn_id="spark_nowhere").execute({})
