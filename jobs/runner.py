"""Running jobs as every caller does (the CLI, Airflow's spark-submit tasks, the bench, tests):
one job, a stage, landing data when none is there, and the run's summary."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import logging
import shutil
import time
from collections.abc import Sequence

from jobs import registry
from jobs.common.config import Config
from jobs.common.errors import JobError, PipelineError
from jobs.common.logs import job_context
from jobs.common.results import JobResult, new_run_id

log = logging.getLogger("jobs")


def run_job(spark, config: Config, job: registry.Job, *, run_id: str, logical_date: dt.date | None,
            full_rebuild: bool = False, **extra) -> JobResult:
    from jobs.common.progress import stage_progress
    from jobs.common.tables import commits_tagged

    module = importlib.import_module(job.module)
    params = {"run_id": run_id, "logical_date": logical_date, "full_rebuild": full_rebuild, **job.kwargs, **extra}
    accepted = inspect.signature(module.run).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise JobError(f"job '{job.name}' takes no parameter {', '.join(map(repr, unknown))}; it takes: "
                       f"{', '.join(p for p in accepted if p not in ('spark', 'config'))} ({job.module}.run)")
    published = tuple(t for t in job.outputs if t in registry.PUBLISHED_TABLES)
    # Every Delta commit and every log line names its run and job; long stages log their progress.
    with job_context(run_id, job.name), commits_tagged(spark, run_id, job.name), stage_progress(spark):
        if published:   # write-audit-publish: a writer starts from what its gate last published
            from jobs.common.publication import reset_to_published

            reset_to_published(spark, config.paths.lake, job.name, published)
        result = module.run(spark, config, **params)
        log.info(result.line())
    return result


def run_stage(spark, config: Config, stage: str, *, run_id: str, logical_date=None,
              full_rebuild: bool = False) -> list[JobResult]:
    jobs = [j for j in registry.jobs_in_stage(stage)
            if j.kwargs.get("source") in (None, *config.enabled_sources())]
    return [run_job(spark, config, j, run_id=run_id, logical_date=logical_date,
                    full_rebuild=full_rebuild) for j in jobs]


def table_counts(spark, config: Config) -> dict[str, int]:
    from jobs.common.tables import register_tables

    return {name: spark.table(name).count() for name in register_tables(spark, config)}


def print_summary(results: list[JobResult], counts: dict[str, int], stage_seconds: dict[str, float]) -> None:
    print("\n=== customer-360 pipeline summary ===")
    if results:
        print(f"{'job':<24}{'records':>12}{'accepted':>12}{'quarantined':>13}{'seconds':>9}")
        for r in results:
            print(f"{r.job:<24}{r.rows_in:>12}{r.rows_out:>12}{r.rows_quarantined:>13}{r.seconds:>9.1f}")
    if stage_seconds:
        print("stages: " + ", ".join(f"{s} {t:.1f}s" for s, t in stage_seconds.items()))
    if counts:
        print(f"\n{'table':<28}{'rows':>12}")
        for name, n in counts.items():
            print(f"{name:<28}{n:>12}")
    print()


def ensure_landing(config: Config) -> bool:
    """Generate the default data set when nothing is landed yet. True when it generated."""
    landing = config.paths.landing
    if landing.is_dir() and any(p.is_file() for p in landing.rglob("*")):
        return False
    generate_landing(config, force=False)
    return True


def generate_landing(config: Config, force: bool) -> None:
    from jobs.generate import generate

    g = config.generator
    landing, truth = config.paths.landing, config.paths.truth
    if force:
        for folder in (landing, truth):
            shutil.rmtree(folder, ignore_errors=True)
    log.info("generating landing data: scale=%d seed=%d days=%d into %s", g.scale, g.seed, g.days, landing)
    t0 = time.monotonic()
    try:
        generate(landing, truth, scale=g.scale, seed=g.seed, days=g.days, end_date=g.end_date,
                 bad_record_rate=g.bad_record_rate, progress=lambda msg: log.info("generate: %s", msg))
    except ValueError as exc:  # the generator's own checks: truth inside landing, bad scale, ...
        raise PipelineError(f"cannot generate data: {exc}") from None
    log.info("generated in %.1fs; ground truth in %s", time.monotonic() - t0, truth)


def spark_for(config: Config, jobs: Sequence[registry.Job] = ()):
    """The session; when `jobs` include a gate, Great Expectations imports meanwhile (see start_gx_import)."""
    from jobs.common.spark import build_spark

    start_gx_import(jobs)
    return build_spark(config)


def start_gx_import(jobs: Sequence[registry.Job]) -> None:
    """GX's import takes ~3 s of Python: started before the JVM, it overlaps the session start (Python
    waits for the JVM then) instead of contending with the first gate's own Python for the GIL."""
    if any(job.is_gate for job in jobs):
        from jobs.quality.gx_runner import preload

        preload()


# Handlers of `python -m jobs` (jobs/cli.py declares the commands and their arguments).

def list_jobs(args, config: Config) -> int:
    for job in registry.JOBS:
        print(f"{job.name:<22}{job.layer:<8}{job.description}")
    return 0


def run_command(args, config: Config) -> int:
    """`run JOB`, `stage STAGE...` and `pipeline`: one run id for all the jobs they run."""
    run_id = args.run_id or new_run_id()
    if args.command == "pipeline":
        ensure_landing(config)
    if args.command == "run":
        jobs = [registry.get_job(args.job)]
    else:
        jobs = registry.jobs_in_stages(args.stage if args.command == "stage" else registry.PIPELINE_STAGES)
    spark = spark_for(config, jobs)
    dated = {"run_id": run_id, "logical_date": args.date, "full_rebuild": args.full_rebuild}
    if args.command == "run":
        run_job(spark, config, jobs[0], **dated, **({"models": args.models} if args.models else {}))
    elif args.command == "stage":
        print_summary([r for stage in args.stage for r in run_stage(spark, config, stage, **dated)], {}, {})
    else:
        results, stage_seconds = [], {}
        for stage in registry.PIPELINE_STAGES:
            t0 = time.monotonic()
            results += run_stage(spark, config, stage, **dated)
            stage_seconds[stage] = time.monotonic() - t0
        print_summary(results, table_counts(spark, config), stage_seconds)
    return 0


def generate_command(args, config: Config) -> int:
    if not args.force and config.paths.landing.is_dir() and any(config.paths.landing.iterdir()):
        raise PipelineError(f"{config.paths.landing} already holds landed data; "
                            "add --force (make data FORCE=1) to replace it")
    generate_landing(config, force=args.force)
    return 0


def summary_command(args, config: Config) -> int:
    print_summary([], table_counts(spark_for(config), config), {})
    return 0


def fetch_jars_command(args, config: Config) -> int:
    spark_for(config).range(1).count()
    print("Delta jars ready in .cache/ivy")
    return 0
