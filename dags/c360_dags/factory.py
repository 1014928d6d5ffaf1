"""Build the project's DAGs from the job registry (jobs/registry.py), the same list the Makefile uses.

customer360_daily: one task group per stage of `registry.STAGES`, in order, each holding the jobs
of `registry.jobs_in_stage(stage)` (parallel inside a stage); every stage waits for the whole
previous one, so a failed gate stage stops everything after it. A stage added to the registry
(gates, silver, identity, gold, ...) joins the DAG without a change here.

Conventions this file relies on:
- a *gate* stage is named `gate`, `<layer>_gate` or `gate_<...>` (e.g. `bronze_gate`);
- a job with a `source` parameter is only scheduled when that source is enabled in the config;
- the task id is the job name; the task's documentation is the job's description.

Assets: every table a job writes in a data layer (bronze, silver, gold; not ops.*) is an Airflow
asset, published when it has passed its gate: by the tasks of the first gate stage after the
stage that wrote it, or by the writing task itself when no gate follows (yet). Gold tables thus
appear as assets as soon as gold jobs are in the registry, and an asset event means "gated".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from c360_dags import callbacks
from c360_dags.settings import AirflowSettings

DAILY_DAG_ID = "customer360_daily"
MAINTENANCE_DAG_ID = "customer360_maintenance"
PUBLISHED_LAYERS = ("bronze", "silver", "gold")
TAGS = ["customer360"]


def is_gate_stage(stage: str) -> bool:
    return stage == "gate" or stage.endswith("_gate") or stage.startswith("gate_")


# The run's logical date; a run triggered without one (allowed in Airflow 3) takes the day it was
# triggered for, so "everything landed by now" is processed.
DATE_TEMPLATE = "{{ (dag_run.logical_date or dag_run.run_after).strftime('%Y-%m-%d') }}"


def job_command(job, date_template: str | None = DATE_TEMPLATE) -> list[str]:
    """What follows `python -m` (and `spark-submit jobs/submit.py`) for one registry job; without a
    date template the job picks its own date (the latest day silver holds)."""
    date = ["--date", date_template] if date_template else []
    return ["jobs", "run", job.name, *date, "--run-id", "{{ run_id }}"]


def table_asset(table: str):
    """The Airflow asset of a lake table, identified by the table's name, not by where the lake is:
    consumers refer to `Asset("gold.customer_360")` in every environment, and moving the lake
    (a path today, object storage later) does not orphan the asset. `x-` marks a custom scheme."""
    from airflow.sdk import Asset

    layer, _, entity = table.partition(".")
    return Asset(name=table, uri=f"x-delta://customer360/{layer}/{entity}", group="customer360",
                 extra={"layer": layer})


def published_tables(job) -> list[str]:
    return [t for t in job.outputs if t.partition(".")[0] in PUBLISHED_LAYERS]


def plan_outlets(stages: Sequence[tuple[str, Sequence[Any]]]) -> dict[str, list[str]]:
    """job name -> tables it publishes as assets (see the module docstring)."""
    outlets: dict[str, list[str]] = {}
    pending: list[str] = []          # tables written since the last gate
    pending_writers: dict[str, list[str]] = {}
    for stage, jobs in stages:
        if is_gate_stage(stage):
            for job in jobs:
                outlets[job.name] = sorted(set(pending))
            pending, pending_writers = [], {}
            continue
        for job in jobs:
            for table in published_tables(job):
                pending.append(table)
                pending_writers.setdefault(table, []).append(job.name)
    for table, writers in pending_writers.items():   # no gate after them (yet): writers publish
        for name in writers:
            outlets.setdefault(name, []).append(table)
    return outlets


def _task_doc(job, stage: str) -> str:
    params = " ".join(f"--{k} {v}" for k, v in job.params)
    lines = [
        f"### {job.name}",
        "",
        job.description,
        "",
        f"- **stage**: `{stage}`{' (quality gate: failing it stops every later stage)' if is_gate_stage(stage) else ''}",
        f"- **layer**: `{job.layer}`; **module**: `{job.module}`" + (f" ({params})" if params else ""),
        f"- **reads**: {', '.join(f'`{i}`' for i in job.inputs) or '-'}",
        f"- **writes**: {', '.join(f'`{o}`' for o in job.outputs) or '-'}",
    ]
    if job.suite:
        lines.append(f"- **expectations**: `expectations/{job.suite}`")
    lines += ["", "Same code path by hand:", "", "```",
              f"python -m jobs run {job.name} --date YYYY-MM-DD", "```"]
    return "\n".join(lines)


def _daily_doc(stages: Sequence[tuple[str, Sequence[Any]]]) -> str:
    rows = "\n".join(f"| `{stage}` | {'gate' if is_gate_stage(stage) else ''} | "
                     f"{', '.join(f'`{j.name}`' for j in jobs)} |" for stage, jobs in stages)
    return f"""\
# Customer-360 daily pipeline

Landing files -> bronze -> silver -> gold, one logical date per run: a run for day **D**
processes the files that had landed by D (folders `landing/<source>/<YYYY-MM-DD>/` up to D);
each file is ingested exactly once, so re-running a day or backfilling a range is safe.
A failed gate stops every later stage. Built from `jobs/registry.py` (the Makefile's list).

| stage | | jobs |
|---|---|---|
{rows}

- Backfill: `make backfill START=YYYY-MM-DD END=YYYY-MM-DD` (one run per day, in order, one at a time).
- Failures and run outcomes: `ops.pipeline_runs` (`python -m jobs runs show`).
- Where Spark runs: the Airflow connection named in `airflow.spark_conn_id` (default `spark_c360`, `local[*]`).
"""


def default_args(settings: AirflowSettings) -> dict[str, Any]:
    args: dict[str, Any] = {
        "owner": settings.owner,
        "retries": settings.retries,
        "retry_delay": dt.timedelta(minutes=settings.retry_delay_minutes),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=settings.max_retry_delay_minutes),
        "execution_timeout": dt.timedelta(minutes=settings.execution_timeout_minutes),
        "depends_on_past": False,
        # One instance of a job at a time across all runs of the DAG: a backfill's runs are not
        # bound by max_active_runs, and two runs ingesting the same source would both claim the
        # same new files.
        "max_active_tis_per_dag": 1,
    }
    if settings.record_runs:
        args["on_failure_callback"] = callbacks.on_task_failure
        args["on_retry_callback"] = callbacks.on_task_retry
    return args


def _start(settings: AirflowSettings) -> dt.datetime:
    return dt.datetime.combine(settings.start_date, dt.time(), tzinfo=dt.UTC)


def daily_timetable(schedule: str | None):
    """A cron schedule as *data intervals*: the run made after day D ends has logical date D, so
    `--date D` means "the day whose files are complete". (Airflow 3's plain cron schedules would
    label that run D+1 and catch a partly landed day.) None or "@once"-style presets pass through."""
    from airflow.sdk import CronDataIntervalTimetable

    if schedule is None or schedule in ("@once", "@continuous", "None"):
        return None if schedule == "None" else schedule
    return CronDataIntervalTimetable(schedule, timezone="UTC")


def _dag(dag_id: str, settings: AirflowSettings, *, schedule, doc_md: str, description: str):
    from airflow.sdk import DAG

    run_callbacks = {}
    if settings.record_runs:
        run_callbacks = {"on_success_callback": callbacks.on_run_success,
                         "on_failure_callback": callbacks.on_run_failure}
    return DAG(
        dag_id=dag_id,
        description=description,
        doc_md=doc_md,
        schedule=schedule,
        start_date=_start(settings),
        catchup=settings.catchup,
        max_active_runs=1,            # Delta writers of two runs would contend for the same files
        max_active_tasks=settings.max_active_tasks,
        dagrun_timeout=dt.timedelta(minutes=settings.dagrun_timeout_minutes),
        default_args=default_args(settings),
        is_paused_upon_creation=settings.paused_at_creation,
        tags=TAGS,
        **run_callbacks,
    )


def default_task_factory(job, *, stage: str, settings: AirflowSettings, outlets: list, doc_md: str,
                         dated: bool = True):
    from c360_dags.operators import JobSubmitOperator

    extra = {}
    if is_gate_stage(stage):
        extra["retries"] = 0          # a quality verdict does not change on retry
    return JobSubmitOperator(
        task_id=job.name,
        job_name=job.name,
        module_args=job_command(job, DATE_TEMPLATE if dated else None),
        conn_id=settings.spark_conn_id,
        outlets=outlets,
        doc_md=doc_md,
        **extra,
    )


def _plan(config, stages: Iterable[str], jobs_in_stage: Callable[[str], list]) -> list[tuple[str, list]]:
    """(stage, its jobs) in order, jobs of disabled sources left out, empty stages dropped."""
    enabled = set(config.enabled_sources())
    plan = []
    for stage in stages:
        jobs = [j for j in jobs_in_stage(stage) if dict(j.params).get("source") in (None, *enabled)]
        if jobs:
            plan.append((stage, jobs))
    return plan


def build_daily_dag(config, settings: AirflowSettings, *, dag_id: str = DAILY_DAG_ID,
                    stages: Iterable[str] | None = None,
                    jobs_in_stage: Callable[[str], list] | None = None,
                    task_factory: Callable[..., Any] | None = None):
    """The daily DAG. `stages`/`jobs_in_stage` default to the registry's; tests pass others."""
    if stages is None or jobs_in_stage is None:
        from jobs import registry

        stages = registry.STAGES if stages is None else stages
        jobs_in_stage = jobs_in_stage or registry.jobs_in_stage
    plan = _plan(config, stages, jobs_in_stage)
    dag = _dag(dag_id, settings, schedule=daily_timetable(settings.daily_schedule), doc_md=_daily_doc(plan),
               description="Customer-360: landing -> bronze -> silver -> gold for one logical date, gated")
    return _stage_tasks(dag, plan, settings, task_factory)


MODELS_DAG_ID = "customer360_models"
SCORING_DAG_ID = "customer360_scoring"
SCORED_ON = "gold.customer_360"   # the gated gold asset whose publication triggers scoring


def build_models_dags(config, settings: AirflowSettings, *, task_factory: Callable[..., Any] | None = None):
    """customer360_models: weekly, train, score, choose offers, gate (registry.MODEL_STAGES).
    customer360_scoring: after each gated gold publication (the asset gate_gold publishes), score
    with the current champions, choose offers and gate (the stages after training)."""
    import functools

    from airflow.sdk import CronTriggerTimetable

    from jobs import registry

    # No --date: a weekly or asset-triggered run's own date is not a day whose data is complete;
    # the jobs take the latest day silver holds, the date gold was just built as of.
    task_factory = task_factory or functools.partial(default_task_factory, dated=False)

    doc = """\
# Customer-360 models

**customer360_models** (weekly): `train_models` fits every model of `models/*.yaml` and the CLV
model on point-in-time training sets, logs each run to MLflow and moves the `champion` alias only to
a better version; then `score_customers`, `choose_offers` and `gate_scores`.

**customer360_scoring** (after each gated gold publication, the `gold.customer_360` asset):
`score_customers` with the current champions into `gold.customer_scores`, `choose_offers` into
`gold.next_best_offer` (consented channels only, under the contact cap), then `gate_scores`.

By hand: `make train`, `make score`; the MLflow UI: `make mlflow`.
"""
    weekly = _dag(MODELS_DAG_ID, settings, doc_md=doc,
                  schedule=CronTriggerTimetable(settings.models_schedule, timezone="UTC"),
                  description="Customer-360: weekly training (MLflow, champion rule), then scoring, gated")
    scoring_stages = tuple(s for s in registry.MODEL_STAGES if s != registry.TRAIN_MODELS.stage)
    on_gold = _dag(SCORING_DAG_ID, settings, doc_md=doc, schedule=[table_asset(SCORED_ON)],
                   description="Customer-360: score with the champions after each gated gold publication")
    return (_stage_tasks(weekly, _plan(config, registry.MODEL_STAGES, registry.jobs_in_stage), settings,
                         task_factory),
            _stage_tasks(on_gold, _plan(config, scoring_stages, registry.jobs_in_stage), settings, task_factory))


def _stage_tasks(dag, plan: list[tuple[str, list]], settings: AirflowSettings,
                 task_factory: Callable[..., Any] | None):
    """One task group per stage, one task per job, each stage after the whole previous one."""
    from airflow.sdk import TaskGroup

    task_factory = task_factory or default_task_factory
    outlets = plan_outlets(plan)
    with dag:
        previous = None
        tasks = {}
        for stage, jobs in plan:
            tooltip = ("quality gate: " if is_gate_stage(stage) else "") + ", ".join(j.name for j in jobs)
            with TaskGroup(group_id=stage, prefix_group_id=False, tooltip=tooltip) as group:
                for job in jobs:
                    tasks[job.name] = task_factory(
                        job, stage=stage, settings=settings,
                        outlets=[table_asset(t) for t in outlets.get(job.name, [])],
                        doc_md=_task_doc(job, stage))
                for job in jobs:      # ordering inside a stage, when the registry declares one
                    for upstream in job.depends_on:
                        if upstream in tasks and upstream in {j.name for j in jobs}:
                            tasks[upstream] >> tasks[job.name]
            if previous is not None:
                previous >> group
            previous = group
    return dag


MAINTENANCE_ACTIONS = (
    ("compact_lake", "compact",
     "Compact every Delta table of the lake (OPTIMIZE: small files bin-packed into large ones; "
     "a dataChange=false commit that readers and concurrent appends do not notice)."),
    ("vacuum_lake", "vacuum",
     "VACUUM every Delta table, keeping every file a version inside the time-travel window needs "
     "(maintenance.time_travel_days, default 30; never below the table's own 7-day minimum)."),
)


def build_maintenance_dag(config, settings: AirflowSettings, *, dag_id: str = MAINTENANCE_DAG_ID,
                          task_factory: Callable[..., Any] | None = None):
    from c360_dags.operators import JobSubmitOperator

    doc = f"""\
# Customer-360 lake housekeeping (weekly)

`compact_lake` then `vacuum_lake`, over every Delta table under `{config.paths.lake}`
(found when the task runs, so tables of later stages are included).
VACUUM keeps the time-travel window: any version younger than it stays readable.
By hand: `python -m jobs maintenance compact|vacuum [--dry-run]`.
"""
    dag = _dag(dag_id, settings, schedule=settings.maintenance_schedule, doc_md=doc,
               description="Customer-360: Delta compaction and vacuum (time travel kept)")
    with dag:
        previous = None
        for task_id, action, description in MAINTENANCE_ACTIONS:
            args = ["jobs", "maintenance", action, "--date", DATE_TEMPLATE, "--run-id", "{{ run_id }}"]
            doc_md = (f"### {task_id}\n\n{description}\n\nSame code path by hand:\n\n```\n"
                      f"python -m jobs maintenance {action}\n```")
            if task_factory is not None:
                task = task_factory(task_id=task_id, module_args=args, settings=settings, doc_md=doc_md)
            else:
                task = JobSubmitOperator(task_id=task_id, job_name=task_id, module_args=args,
                                         conn_id=settings.spark_conn_id, doc_md=doc_md)
            if previous is not None:
                previous >> task
            previous = task
    return dag
