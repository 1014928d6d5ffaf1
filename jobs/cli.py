"""`python -m jobs`: the one command line, for people, the Makefile and Airflow's tasks.

Every command is declared once in COMMANDS: its name, help, arguments and handler. A handler's
module is imported only when the command runs, so `--help` and light commands (a JVM-free query,
recording a run outcome) start no Spark and import no Great Expectations. `python -m jobs --help`
lists them; `python -m jobs <command> --help` explains one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from jobs import registry
from jobs.common.config import load_config
from jobs.common.errors import PipelineError, report
from jobs.common.logs import setup_logging
from jobs.ops.maintenance import ACTIONS
from jobs.ops.pipeline_runs import STATUSES
from jobs.privacy import IDENTIFIER_KINDS

EPILOG = "python -m jobs <command> --help explains a command; the Makefile's targets call these."


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: str                                   # "module:function", called with the parsed arguments
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    # Leave without the interpreter's teardown: delta-rs and Arrow threads can abort it (SIGABRT,
    # exit 134: delta-io/delta-rs#2184) after the work succeeded, and the exit code must tell the truth.
    skip_teardown: bool = False


def _dated(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", "--as-of", dest="date", type=dt.date.fromisoformat,
                        help="logical date (YYYY-MM-DD); gold tables are computed as of it")
    parser.add_argument("--run-id", help="run id recorded in lineage (default: generated)")
    parser.add_argument("--full-rebuild", action="store_true", help="recompute instead of incremental")


def _run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="a job name (python -m jobs list)")
    parser.add_argument("--models", help="train_models only: comma-separated model names (default: every "
                                         "models/*.yaml and clv)")
    _dated(parser)


def _stage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stage", nargs="+", choices=registry.PIPELINE_STAGES,
                        help="one or more stages, run in the order given with one run id")
    _dated(parser)


def _generate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=int, help="approximate number of web/app events")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--force", action="store_true", help="wipe landing and truth folders first")


def _sql_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", dest="query", help="run one statement and exit")


def _query_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", help="one SQL statement (DuckDB dialect)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--lake", help="lake folder (default: config paths.lake)")


def _segments_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="segments file (default: config gold.segments_file)")


def _models_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", help="model folder (default: config models.specs_dir)")


def _mlflow_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)


def _docs_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gx-dir", help="GX project folder (default gx/)")


def _notebooks_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="notebooks/*.ipynb to execute")


def _maintenance_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--table", action="append", dest="tables", help="layer.entity (repeatable; default: all)")
    parser.add_argument("--retention-days", type=int,
                        help="vacuum: time-travel window to keep (default from config)")
    parser.add_argument("--dry-run", action="store_true", help="vacuum: only count what would be deleted")
    parser.add_argument("--date", type=dt.date.fromisoformat, help="logical date (recorded only)")
    parser.add_argument("--run-id", help="run id (default: generated)")


def _privacy_args(parser: argparse.ArgumentParser, customer_required: bool = True) -> None:
    parser.add_argument("--customer", required=customer_required, metavar="ID",
                        help="the person: a CRM id, an email, a phone or a customer_key (ck_...)")
    parser.add_argument("--kind", choices=IDENTIFIER_KINDS,
                        help="what ID is, when its shape misleads (a CRM id of digits only)")
    parser.add_argument("--all", action="store_true",
                        help="an ID naming several customers (a family mailbox) covers every one of them")


def _erase_args(parser: argparse.ArgumentParser) -> None:
    _privacy_args(parser, customer_required=False)
    parser.add_argument("--file", metavar="PATH",
                        help="a batch of requests: one identifier per line ('#' starts a comment)")


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _runs_args(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    record = sub.add_parser("record", help="append one row (Airflow's callbacks call this)")
    record.add_argument("--dag-id", required=True)
    record.add_argument("--run-id", required=True)
    record.add_argument("--status", required=True, choices=STATUSES)
    record.add_argument("--task-id")
    record.add_argument("--logical-date", type=lambda s: _timestamp(s).date() if "T" in s else dt.date.fromisoformat(s))
    record.add_argument("--try-number", type=int)
    record.add_argument("--error")
    record.add_argument("--started-at", type=_timestamp)
    record.add_argument("--ended-at", type=_timestamp)
    record.add_argument("--log-url")
    show = sub.add_parser("show", help="print the latest rows")
    show.add_argument("--limit", type=int, default=20)


COMMANDS: tuple[Command, ...] = (
    Command("list", "list the jobs (the same list Airflow uses)", "jobs.runner:list_jobs"),
    Command("run", "run one job", "jobs.runner:run_command", _run_args),
    Command("stage", "run every job of one or more stages", "jobs.runner:run_command", _stage_args),
    Command("pipeline", "run every stage (landing data generated if none), then print a summary",
            "jobs.runner:run_command", _dated),
    Command("generate", "write synthetic landing data and its ground truth", "jobs.runner:generate_command",
            _generate_args),
    Command("summary", "rows per table in the lake", "jobs.runner:summary_command"),
    Command("fetch-jars", "fetch Delta's jars into .cache/ivy (once)", "jobs.runner:fetch_jars_command"),
    Command("sql", "SQL shell over gold and non-restricted silver tables (Spark)", "jobs.gold.access:cli",
            _sql_args),
    Command("query", "one SQL query over the same tables without Spark (delta-rs + DuckDB)", "jobs.gold.fast:cli",
            _query_args),
    Command("check-segments", "validate a segments file against customer_360's columns (no lake needed)",
            "jobs.gold.segments:cli", _segments_args),
    Command("check-models", "validate models/*.yaml against the feature frames (no lake needed)",
            "jobs.models.spec:cli", _models_args),
    Command("eval-identity", "identity precision, recall and F1 against the generator's truth",
            "jobs.identity.evaluate:cli"),
    Command("eval-models", "the champions' holdout ROC AUC and the offers' gain against the planted truth",
            "jobs.models.evaluate:cli"),
    Command("mlflow", "the MLflow UI over the project's tracking store", "jobs.models.ui:cli", _mlflow_args),
    Command("docs", "build Great Expectations Data Docs from the gates' last results", "jobs.quality.docs:cli",
            _docs_args),
    Command("notebooks", "execute notebooks against the lake; executed copies in data/notebooks/",
            "jobs.gold.notebooks:cli", _notebooks_args),
    Command("maintenance", "compact or vacuum the lake's Delta tables", "jobs.ops.maintenance:cli",
            _maintenance_args),
    Command("export", "right of access: everything held about one person, in clear, as one JSON file "
            "under paths.restricted", "jobs.privacy.export:cli", _privacy_args),
    Command("erase", "right to erasure: delete one person (or a file of requests) from every layer, "
            "permanently", "jobs.privacy.erase:cli", _erase_args),
    Command("runs", "record or show orchestrator outcomes (ops.pipeline_runs)", "jobs.ops.pipeline_runs:cli",
            _runs_args, skip_teardown=True),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jobs", description="Customer-360 lakehouse jobs",
                                     epilog=EPILOG)
    parser.add_argument("--config", help="YAML config (default config/pipeline.yaml or $C360_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        command.arguments(child)
        child.set_defaults(command_spec=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    command: Command = args.command_spec
    try:
        module, _, function = command.handler.partition(":")
        config = load_config(args.config, overrides=_config_overrides(args))
        code = getattr(importlib.import_module(module), function)(args, config) or 0
    except PipelineError as exc:
        code = report(exc)
    if command.skip_teardown:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _config_overrides(args: argparse.Namespace) -> dict:
    if args.command != "generate":
        return {}
    return {f"generator.{k}": v for k, v in (("scale", args.scale), ("seed", args.seed), ("days", args.days))
            if v is not None}
