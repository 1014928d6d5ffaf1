"""One entry point for every caller (Makefile, Airflow, spark-submit):

    python -m jobs list
    python -m jobs run ingest_events [--date 2026-11-21] [--run-id ID]
    python -m jobs run train_models --models churn_risk,clv   # some models only
    python -m jobs stage bronze [bronze_gate ...]   # stages in order, one run id
    python -m jobs pipeline                # every stage that exists, then a summary
    python -m jobs generate [--scale N] [--seed S] [--force]
    python -m jobs summary                 # rows per table
    python -m jobs eval-identity           # identity precision/recall against the generator's truth
    python -m jobs eval-models             # champions' holdout AUC and offers' gain against the planted truth
    python -m jobs fetch-jars              # Delta's jars into .cache/ivy, once
    python -m jobs sql [-e "SELECT ..."]   # Spark SQL over gold and non-restricted silver tables
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import logging
import shutil
import sys
import time
from collections.abc import Sequence

from jobs import registry
from jobs.common.config import Config, load_config
from jobs.common.errors import JobError, PipelineError, report
from jobs.common.logs import job_context, setup_logging
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
    _generate(config, force=False)
    return True


def _generate(config: Config, force: bool) -> None:
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


def _spark(config: Config, jobs: Sequence[registry.Job] = ()):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs", description="Customer-360 lakehouse jobs")
    parser.add_argument("--config", help="YAML config (default config/pipeline.yaml or $C360_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the jobs")
    for name, helptext in (("run", "run one job"), ("stage", "run every job of a stage"),
                           ("pipeline", "run every stage, then print a summary")):
        p = sub.add_parser(name, help=helptext)
        if name == "run":
            p.add_argument("job")
            p.add_argument("--models", help="train_models only: comma-separated model names (default: every "
                                            "models/*.yaml and clv)")
        if name == "stage":
            p.add_argument("stage", nargs="+", choices=registry.PIPELINE_STAGES,
                           help="one or more stages, run in the order given with one run id")
        p.add_argument("--date", "--as-of", dest="date", type=dt.date.fromisoformat,
                       help="logical date (YYYY-MM-DD); gold tables are computed as of it")
        p.add_argument("--run-id", help="run id recorded in lineage (default: generated)")
        p.add_argument("--full-rebuild", action="store_true", help="recompute instead of incremental")
    g = sub.add_parser("generate", help="write synthetic landing data and its ground truth")
    g.add_argument("--scale", type=int, help="approximate number of web/app events")
    g.add_argument("--seed", type=int)
    g.add_argument("--days", type=int)
    g.add_argument("--force", action="store_true", help="wipe landing and truth folders first")
    sub.add_parser("summary", help="rows per table in the lake")
    sub.add_parser("eval-identity", help="score identity resolution against the generator's truth")
    sub.add_parser("eval-models", help="the champions' holdout ROC AUC and the offers' gain against the "
                                       "generator's planted truth")
    sub.add_parser("fetch-jars", help="fetch Delta's jars into .cache/ivy (once)")
    q = sub.add_parser("sql", help="SQL shell over gold and non-restricted silver tables (Spark)")
    q.add_argument("-e", dest="query", help="run one statement and exit")
    args = parser.parse_args(argv)
    setup_logging()

    try:
        overrides = {}
        if args.command == "generate":
            overrides = {f"generator.{k}": v for k, v in
                         (("scale", args.scale), ("seed", args.seed), ("days", args.days)) if v is not None}
        config = load_config(args.config, overrides=overrides)
        if args.command == "list":
            for job in registry.JOBS:
                print(f"{job.name:<22}{job.layer:<8}{job.description}")
            return 0
        if args.command == "generate":
            if not args.force and config.paths.landing.is_dir() and any(config.paths.landing.iterdir()):
                raise PipelineError(f"{config.paths.landing} already holds landed data; "
                                    "add --force (make data FORCE=1) to replace it")
            _generate(config, force=args.force)
            return 0
        if args.command == "fetch-jars":
            spark = _spark(config)
            spark.range(1).count()
            print("Delta jars ready in .cache/ivy")
            return 0
        if args.command == "summary":
            print_summary([], table_counts(_spark(config), config), {})
            return 0
        if args.command == "sql":
            from jobs.gold.access import shell

            return shell(_spark(config), config, args.query)
        if args.command == "eval-identity":
            from jobs.identity.evaluate import evaluate
            from jobs.identity.evaluate import report as identity_report

            print(identity_report(evaluate(_spark(config), config)))
            return 0
        if args.command == "eval-models":
            from jobs.models import evaluate as models_eval

            spark = _spark(config)
            print(models_eval.report(models_eval.evaluate(spark, config)))
            print(models_eval.offers_report(models_eval.evaluate_offers(spark, config)))
            return 0

        run_id = args.run_id or new_run_id()
        if args.command == "pipeline":
            ensure_landing(config)
        if args.command == "run":
            jobs = [registry.get_job(args.job)]
        else:
            jobs = registry.jobs_in_stages(args.stage if args.command == "stage" else registry.PIPELINE_STAGES)
        spark = _spark(config, jobs)
        if args.command == "run":
            extra = {"models": args.models} if args.models else {}
            run_job(spark, config, jobs[0], run_id=run_id,
                    logical_date=args.date, full_rebuild=args.full_rebuild, **extra)
        elif args.command == "stage":
            results = [r for stage in args.stage
                       for r in run_stage(spark, config, stage, run_id=run_id, logical_date=args.date,
                                          full_rebuild=args.full_rebuild)]
            print_summary(results, {}, {})
        else:
            results, stage_seconds = [], {}
            for stage in registry.PIPELINE_STAGES:
                t0 = time.monotonic()
                results += run_stage(spark, config, stage, run_id=run_id, logical_date=args.date,
                                     full_rebuild=args.full_rebuild)
                stage_seconds[stage] = time.monotonic() - t0
            print_summary(results, table_counts(spark, config), stage_seconds)
        return 0
    except PipelineError as exc:
        return report(exc)


if __name__ == "__main__":
    sys.exit(main())
