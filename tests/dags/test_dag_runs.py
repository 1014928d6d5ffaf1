"""Real DAG runs (`dag.test()`): Airflow's own run loop, tasks as in production.

- one end-to-end run of the daily DAG from dags/ over a small generated landing zone: every task
  (ingestion, then the bronze gate) spark-submits the real job, and the tables appear;
- a backfill of three consecutive days (what `make backfill` does without a scheduler): each
  day's files are ingested by that day's run, exactly once; files of a later day wait;
- a DAG whose gate fails: the right task failed, everything after it untouched, the failure in
  ops.pipeline_runs, no asset event for the tables the gate guards.

Each spark-submit starts a JVM (10-60 s on a loaded 2-core machine): only the events source is
enabled, and the backfill runs ingestion only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from jobs import registry
from tests.dags.helpers import lake_env, parse_dags, read_table, register_dag, utc_day

pytestmark = pytest.mark.slow

GENERATED_DAYS = ("2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21")
BACKFILL_DAYS = GENERATED_DAYS[:3]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A small generated landing zone: four days of arrivals, 2026-11-18..21 (read-only here)."""
    from jobs.generate import generate

    root = tmp_path_factory.mktemp("generated")
    generate(root / "landing", root / "truth", scale=2000, seed=1, days=4,
             end_date=dt.date.fromisoformat(GENERATED_DAYS[-1]), progress=None)
    return root


def _pipeline_env(tmp_path: Path, generated: Path, env) -> Path:
    env.update(lake_env(tmp_path, sources=("events",)))
    env["C360__PATHS__LANDING"] = str(generated / "landing")
    env["C360__PATHS__TRUTH"] = str(generated / "truth")
    return tmp_path / "lake"


def _daily_dag():
    dag = parse_dags().dags["customer360_daily"]
    expected = [j.name for s in registry.STAGES for j in registry.jobs_in_stage(s)
                if j.kwargs.get("source") in (None, "events")]
    assert sorted(dag.task_ids) == sorted(expected)      # the registry's jobs, as in production
    for task in dag.tasks:
        task.retries = 0                       # a failure here is a bug: fail the test now
    return dag


def _states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _events_files(generated: Path, days) -> dict[Path, str]:
    return {p.resolve(): p.parent.name for day in days
            for p in (generated / "landing" / "events" / day).iterdir() if p.is_file()}


def _committed(lake: Path) -> dict[Path, list[dict]]:
    by_file: dict[Path, list[dict]] = {}
    for row in read_table(lake, "ops.ingested_files"):
        if row["status"] == "committed":
            by_file.setdefault(Path(row["file_path"]).resolve(), []).append(row)
    return by_file


def test_end_to_end_daily_run_produces_the_tables(airflow_db, generated, tmp_path, restore_env):
    lake = _pipeline_env(tmp_path, generated, restore_env)
    dag_run = _daily_dag().test(logical_date=utc_day(GENERATED_DAYS[-1]))

    assert dag_run.state == "success", _states(dag_run)
    assert set(_states(dag_run).values()) == {"success"}
    committed = _committed(lake)
    assert set(committed) == set(_events_files(generated, GENERATED_DAYS))   # everything landed by D
    bronze = read_table(lake, "bronze.events")
    quarantined = [r for r in read_table(lake, "ops.quarantine") if r["source"] == "events"]
    assert len(bronze) == sum(r["accepted"] for rows in committed.values() for r in rows) > 1000
    assert len(quarantined) == sum(r["quarantined"] for rows in committed.values() for r in rows) > 0
    assert {r["_run_id"] for r in bronze} == {dag_run.run_id}
    # Generated data with its dose of bad records passes every gate: bronze, silver and gold.
    results = read_table(lake, "ops.quality_results")
    gated = {r["table_name"].split(".")[0] for r in results}
    assert gated == {"bronze", "ops", "silver", "gold"}
    assert [r for r in results if r["action"] in ("failed", "error")] == []
    if "resolve_identity" in dag_run.dag.task_ids:   # silver and identity ran for real after the gate
        touchpoints = read_table(lake, "silver.touchpoints")
        assert 0 < len(touchpoints) <= len(bronze)
        assert any(r["customer_key"] for r in touchpoints)
    for job in registry.jobs_in_stages(registry.STAGES):   # every gold table the daily DAG promises exists
        if job.layer == "gold":
            for table in job.outputs:
                if table.startswith("gold."):
                    assert (lake / "gold" / table.split(".", 1)[1] / "_delta_log").is_dir(), table
    (outcome,) = [r for r in read_table(lake, "ops.pipeline_runs") if r["task_id"] is None]
    assert (outcome["run_id"], outcome["status"]) == (dag_run.run_id, "success")


def test_backfill_of_three_days_ingests_each_days_files_once(airflow_db, generated, tmp_path,
                                                             restore_env):
    """Everything after ingestion is marked successful here (`mark_success_pattern`): this test is
    about which files each day's run ingests; the later stages ran for real in the test above."""
    lake = _pipeline_env(tmp_path, generated, restore_env)
    dag = _daily_dag()
    runs = {}
    for day in BACKFILL_DAYS:
        dag_run = dag.test(logical_date=utc_day(day), mark_success_pattern=r"(gate|silver|resolve|gold)_.*")
        assert dag_run.state == "success", _states(dag_run)
        runs[day] = dag_run.run_id

    committed = _committed(lake)
    expected = _events_files(generated, BACKFILL_DAYS)
    assert set(committed) == set(expected)              # the later day's files wait for their run
    for path, day in expected.items():
        (row,) = committed[path]                         # committed exactly once...
        assert row["run_id"] == runs[day], path          # ...by its own day's run
    bronze = read_table(lake, "bronze.events")
    assert len(bronze) == sum(r["accepted"] for rows in committed.values() for r in rows)
    lineage = {(r["_source_file"], r["_line_number"]) for r in bronze}
    assert len(lineage) == len(bronze)                  # no landed line written twice
    assert {r["_run_id"] for r in bronze} == set(runs.values())
    outcomes = [r for r in read_table(lake, "ops.pipeline_runs") if r["task_id"] is None]
    assert sorted((r["run_id"], r["status"]) for r in outcomes) == \
        sorted((run_id, "success") for run_id in runs.values())
    assert {r["logical_date"] for r in outcomes} == {dt.date.fromisoformat(d) for d in BACKFILL_DAYS}


def test_failed_gate_stops_downstream_and_is_recorded(airflow_db, tmp_path, restore_env):
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk.exceptions import AirflowFailException
    from c360_dags import factory
    from c360_dags.settings import airflow_settings

    from jobs.common.config import load_config
    from jobs.registry import Job

    restore_env.update(lake_env(tmp_path))
    lake = tmp_path / "lake"
    lake.mkdir(parents=True)
    jobs = {
        "bronze": [Job("ingest_x", "bronze", "bronze", "jobs.fake", "Ingest x.", outputs=("bronze.x",))],
        "bronze_gate": [Job("gate_bronze", "bronze_gate", "ops", "jobs.fake", "Gate bronze.x.",
                            inputs=("bronze.x",))],
        "silver": [Job("build_silver", "silver", "silver", "jobs.fake", "Silver x.", outputs=("silver.x",))],
        "gold": [Job("build_gold", "gold", "gold", "jobs.fake", "Gold x.", outputs=("gold.x",))],
    }

    def touch(name):
        return lambda: (lake / f"{name}.done").write_text("ok")

    def gate_fails():
        raise AirflowFailException("gate_bronze: 2 of 5 expectations failed on bronze.x")

    def fake_task(job, *, stage, settings, outlets, doc_md):
        """Stands in for JobSubmitOperator: the DAG's wiring, callbacks and settings are real."""
        action = gate_fails if factory.is_gate_stage(stage) else touch(job.name)
        return PythonOperator(task_id=job.name, python_callable=action, outlets=outlets, doc_md=doc_md)

    config = load_config()
    dag = factory.build_daily_dag(config, airflow_settings(config), dag_id="c360_gate_failure",
                                  stages=list(jobs), jobs_in_stage=lambda s: jobs[s],
                                  task_factory=fake_task)
    register_dag(dag)
    dag_run = dag.test(logical_date=utc_day("2026-11-20"))

    assert dag_run.state == "failed"
    assert _states(dag_run) == {"ingest_x": "success", "gate_bronze": "failed",
                                "build_silver": "upstream_failed", "build_gold": "upstream_failed"}
    assert (lake / "ingest_x.done").exists()
    assert not (lake / "build_silver.done").exists() and not (lake / "build_gold.done").exists()

    rows = read_table(lake, "ops.pipeline_runs")
    failed_task = [r for r in rows if r["task_id"] == "gate_bronze"]
    assert len(failed_task) == 1 and failed_task[0]["status"] == "failed"
    assert "2 of 5 expectations failed" in failed_task[0]["error"]
    assert failed_task[0]["try_number"] == 1
    run_rows = [r for r in rows if r["task_id"] is None]
    assert [(r["run_id"], r["status"]) for r in run_rows] == [(dag_run.run_id, "failed")]

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        uris = {a.name: a.id for a in session.query(AssetModel).all()}
        assert "bronze.x" in uris
        events = session.query(AssetEvent).filter(AssetEvent.asset_id == uris["bronze.x"]).count()
    assert events == 0, "bronze.x was published although its gate failed"
