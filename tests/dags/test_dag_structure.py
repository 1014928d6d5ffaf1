"""The DAG folder parses with no errors, quickly, without heavy imports; the DAGs follow the registry."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from c360_dags import factory
from c360_dags.settings import AirflowSettings, airflow_settings

from jobs import registry
from jobs.common.config import load_config
from jobs.registry import Job
from tests.dags.helpers import DAGS_FOLDER, PROJECT_ROOT, parse_dags

DAILY, MAINTENANCE = "customer360_daily", "customer360_maintenance"


@pytest.fixture(scope="module")
def dagbag():
    return parse_dags()


@pytest.fixture(scope="module")
def daily(dagbag):
    return dagbag.dags[DAILY]


def _registry_jobs(stage: str) -> list[Job]:
    enabled = set(load_config().enabled_sources())
    return [j for j in registry.jobs_in_stage(stage) if j.kwargs.get("source") in (None, *enabled)]


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {DAILY, MAINTENANCE} <= set(dagbag.dag_ids)
    assert all(stat.warning_num == 0 for stat in dagbag.dagbag_stats)


def test_dag_files_parse_fast_without_spark(tmp_path):
    """Parse in a fresh interpreter (as the DAG processor would): each file well under a second,
    and neither pyspark nor delta imported."""
    script = f"""
import json, sys
sys.path.insert(0, {str(DAGS_FOLDER)!r})
from airflow.dag_processing.dagbag import BundleDagBag
from pathlib import Path
bag = BundleDagBag(dag_folder={str(DAGS_FOLDER)!r}, bundle_path=Path({str(DAGS_FOLDER)!r}), bundle_name="dags-folder")
print(json.dumps({{"errors": list(bag.import_errors),
                  "seconds": {{s.file: s.duration.total_seconds() for s in bag.dagbag_stats}},
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("pyspark", "delta", "py4j", "deltalake", "pyarrow"))}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    assert set(report["seconds"]) == {"customer360_daily.py", "customer360_maintenance.py", "customer360_models.py"}
    assert all(seconds < 1.0 for seconds in report["seconds"].values()), report["seconds"]
    assert report["heavy"] == [], "a DAG file imported heavy modules at parse time"


def test_daily_dag_has_one_task_per_registry_job(daily):
    expected = {j.name for stage in registry.STAGES for j in _registry_jobs(stage)}
    assert set(daily.task_ids) == expected


def test_stages_run_in_registry_order_each_waiting_for_the_whole_previous_stage(daily):
    stages = [s for s in registry.STAGES if _registry_jobs(s)]
    for earlier, later in zip(stages, stages[1:], strict=False):
        before = {j.name for j in _registry_jobs(earlier)}
        for job in _registry_jobs(later):
            assert before <= daily.get_task(job.name).upstream_task_ids
    first = {j.name for j in _registry_jobs(stages[0])}
    for name in first:   # the first stage's jobs (per-source ingestion) run in parallel
        assert daily.get_task(name).upstream_task_ids == set()


LAYER_ORDER = ("bronze", "silver", "gold")


def promotions_without_gate(stages, jobs_in_stage) -> list[str]:
    """Stages that write a later layer than the stage before them with no gate stage in between."""
    problems, last_layer, gated = [], None, True
    for stage in stages:
        if factory.is_gate_stage(stage):
            gated = True
            continue
        layers = [layer for layer in LAYER_ORDER if layer in {j.layer for j in jobs_in_stage(stage)}]
        if not layers:
            continue
        if last_layer is not None and layers[-1] != last_layer and not gated:
            problems.append(f"{stage} promotes {last_layer} -> {layers[-1]} without a gate")
        last_layer, gated = layers[-1], False
    return problems


def test_every_promotion_follows_a_gate_in_the_registry():
    assert promotions_without_gate(registry.STAGES, registry.jobs_in_stage) == []


def test_the_promotion_check_catches_a_missing_gate():
    assert promotions_without_gate(list(FULL), lambda s: FULL[s]) == []
    ungated = [s for s in FULL if s != "silver_gate"]
    assert promotions_without_gate(ungated, lambda s: FULL[s]) == [
        "gold promotes silver -> gold without a gate"]


# --- a registry as it will look when every stage exists -------------------------------------

def _job(name, stage, layer, outputs=(), source=None):
    params = (("source", source),) if source else ()
    return Job(name=name, stage=stage, layer=layer, module=f"jobs.fake.{name}",
               description=f"{name}: what it does.", outputs=outputs, params=params)


FULL = {
    "bronze": [_job("ingest_events", "bronze", "bronze", ("bronze.events", "ops.quarantine"), "events"),
               _job("ingest_crm", "bronze", "bronze", ("bronze.crm", "ops.quarantine"), "crm"),
               _job("ingest_orders", "bronze", "bronze", ("bronze.orders",), "orders")],
    "bronze_gate": [_job("gate_bronze", "bronze_gate", "ops", ("ops.quality_results",))],
    "silver": [_job("silver_touchpoints", "silver", "silver", ("silver.touchpoints",)),
               _job("silver_customers", "silver", "silver", ("silver.customers",))],
    "identity": [_job("resolve_identity", "identity", "silver", ("silver.identity_links",))],
    "silver_gate": [_job("gate_silver", "silver_gate", "ops", ("ops.quality_results",))],
    "gold": [_job("gold_customer_360", "gold", "gold", ("gold.customer_360",)),
             _job("gold_marts", "gold", "gold", ("gold.campaign_performance",))],
    "gold_gate": [_job("gate_gold", "gold_gate", "ops", ("ops.quality_results",))],
}


@pytest.fixture(scope="module")
def full_dag():
    config = load_config(overrides={"sources.orders.enabled": False}, environ={})
    return factory.build_daily_dag(config, airflow_settings(config), dag_id="c360_full_registry",
                                   stages=list(FULL), jobs_in_stage=lambda s: FULL[s])


def test_full_registry_chain_gates_sit_before_every_promotion(full_dag):
    up = {t.task_id: t.upstream_task_ids for t in full_dag.tasks}
    assert "ingest_orders" not in up                      # disabled source: no task
    assert up["ingest_events"] == up["ingest_crm"] == set()
    assert up["gate_bronze"] == {"ingest_events", "ingest_crm"}
    assert up["silver_touchpoints"] == up["silver_customers"] == {"gate_bronze"}
    assert up["resolve_identity"] == {"silver_touchpoints", "silver_customers"}
    assert up["gate_silver"] == {"resolve_identity"}
    assert up["gold_customer_360"] == up["gold_marts"] == {"gate_silver"}
    assert up["gate_gold"] == {"gold_customer_360", "gold_marts"}
    assert full_dag.get_task("gate_gold").downstream_task_ids == set()


def test_failed_gate_stops_everything_after_it(full_dag):
    """Default trigger rule: a task runs only when all upstream succeeded; so every task after
    a gate is (transitively) downstream of it."""
    for gate in ("gate_bronze", "gate_silver", "gate_gold"):
        assert full_dag.get_task(gate).trigger_rule == "all_success"
    after_bronze_gate = full_dag.get_task("gate_bronze").get_flat_relative_ids(upstream=False)
    assert after_bronze_gate == {"silver_touchpoints", "silver_customers", "resolve_identity",
                                 "gate_silver", "gold_customer_360", "gold_marts", "gate_gold"}
    assert all(t.trigger_rule == "all_success" for t in full_dag.tasks)


def test_tables_are_published_as_assets_once_gated(full_dag):
    names = {t.task_id: sorted(a.name for a in t.outlets) for t in full_dag.tasks}
    assert names["gate_gold"] == ["gold.campaign_performance", "gold.customer_360"]
    assert names["gate_silver"] == ["silver.customers", "silver.identity_links", "silver.touchpoints"]
    assert names["gate_bronze"] == ["bronze.crm", "bronze.events"]
    assert names["gold_customer_360"] == names["ingest_events"] == []    # not before their gate
    gold = full_dag.get_task("gate_gold").outlets[0]
    assert gold.uri == "x-delta://customer360/gold/campaign_performance"   # the same in every environment


def test_writers_publish_their_tables_while_no_gate_follows():
    outlets = factory.plan_outlets([("bronze", FULL["bronze"]), ("silver", FULL["silver"])])
    assert outlets["ingest_events"] == ["bronze.events"]     # ops.* tables are not assets
    assert outlets["silver_customers"] == ["silver.customers"]


def test_daily_dag_settings(daily):
    assert daily.catchup is False
    assert daily.max_active_runs == 1
    from airflow.sdk import CronDataIntervalTimetable

    # a run for day D is made once D is over, with logical date D
    assert isinstance(daily.timetable, CronDataIntervalTimetable)
    assert daily.timetable.expression == "0 0 * * *"
    assert daily.dagrun_timeout is not None
    assert daily.on_failure_callback and daily.on_success_callback
    assert daily.doc_md and "backfill" in daily.doc_md
    for task in daily.tasks:
        gate = factory.is_gate_stage(registry.get_job(task.task_id).stage)
        assert task.retries == 0 if gate else task.retries >= 1     # a verdict does not change on retry
        assert task.retry_exponential_backoff
        assert task.max_retry_delay is not None
        assert task.execution_timeout is not None
        assert task.max_active_tis_per_dag == 1       # no two runs write the same tables at once
        assert task.on_failure_callback and task.on_retry_callback
        job = registry.get_job(task.task_id)
        assert job.description in task.doc_md
        assert task.application.endswith("jobs/submit.py")
        assert task.application_args == ["jobs", "run", job.name, "--date", factory.DATE_TEMPLATE,
                                         "--run-id", "{{ run_id }}"]
        assert task._conn_id == "spark_c360"


def test_gate_tasks_are_not_retried():
    config = load_config(environ={})
    dag = factory.build_daily_dag(config, airflow_settings(config), dag_id="c360_gates",
                                  stages=["bronze", "bronze_gate"], jobs_in_stage=lambda s: FULL[s])
    assert dag.get_task("gate_bronze").retries == 0
    assert dag.get_task("ingest_events").retries == AirflowSettings().retries


def test_maintenance_dag(dagbag):
    dag = dagbag.dags[MAINTENANCE]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert [t.task_id for t in dag.topological_sort()] == ["compact_lake", "vacuum_lake"]
    assert dag.get_task("vacuum_lake").application_args[:3] == ["jobs", "maintenance", "vacuum"]
    assert "time-travel" in dag.get_task("vacuum_lake").doc_md


def test_models_train_weekly_and_score_after_each_gated_gold_publication(dagbag):
    weekly, on_gold = dagbag.dags[factory.MODELS_DAG_ID], dagbag.dags[factory.SCORING_DAG_ID]
    assert [t.task_id for t in weekly.topological_sort()] == ["train_models", "score_customers", "choose_offers",
                                                                 "gate_scores"]
    assert [t.task_id for t in on_gold.topological_sort()] == ["score_customers", "choose_offers", "gate_scores"]
    assert weekly.timetable.expression == "0 5 * * 0"
    assert [a.name for a in on_gold.timetable.asset_condition.objects] == [factory.SCORED_ON]
    daily = dagbag.dags[DAILY]      # ... which the daily DAG's gold gate publishes
    assert factory.SCORED_ON in [o.name for o in daily.get_task("gate_gold").outlets]
    for dag in (weekly, on_gold):   # only the gate publishes the scores
        assert [o.name for o in dag.get_task("gate_scores").outlets] == ["gold.customer_scores",
                                                                        "gold.next_best_offer"]
        assert dag.get_task("score_customers").outlets == dag.get_task("choose_offers").outlets == []
        # the jobs take the latest complete day silver holds, not the run's own (incomplete) date
        assert "--date" not in dag.get_task("score_customers").application_args


def test_settings_come_from_the_config_section_when_present():
    config = load_config(environ={})
    typed = type("Cfg", (), {"generator": config.generator,
                             "airflow": {"retries": 0, "spark_conn_id": "spark_cluster",
                                         "start_date": "2026-01-05"}})()
    settings = airflow_settings(typed)
    assert (settings.retries, settings.spark_conn_id) == (0, "spark_cluster")
    assert settings.start_date == dt.date(2026, 1, 5)
    defaults = airflow_settings(config)
    assert defaults.start_date == config.generator.end_date - dt.timedelta(days=config.generator.days - 1)
    from jobs.common.errors import ConfigError

    with pytest.raises(ConfigError, match="airflow.retires"):
        airflow_settings(type("Cfg", (), {"airflow": {"retires": 1}})())


def test_project_root_is_where_the_jobs_are():
    assert (PROJECT_ROOT / "jobs" / "submit.py").is_file()


def test_date_argument_is_the_logical_date_or_the_trigger_day():
    import jinja2

    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(factory.DATE_TEMPLATE)
    day = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    later = dt.datetime(2026, 11, 25, 13, 5, tzinfo=dt.UTC)

    class Run:
        def __init__(self, logical_date, run_after):
            self.logical_date, self.run_after = logical_date, run_after

    assert template.render(dag_run=Run(day, later)) == "2026-11-21"
    assert template.render(dag_run=Run(None, later)) == "2026-11-25"   # triggered without a date
