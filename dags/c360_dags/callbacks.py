"""Callbacks recording failures (and run outcomes) in ops.pipeline_runs.

Cheap and robust by construction: the callback spawns `python -m jobs runs record
...` (a JVM-free delta-rs append, about a second) with a timeout, logs what happened, and never
raises: a broken recorder must not hide the task's own failure, nor fail a successful run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
from typing import Any

from c360_dags import PROJECT_ROOT

log = logging.getLogger(__name__)

RECORD_TIMEOUT_SECONDS = 120


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _logical_date(context: dict) -> str | None:
    dag_run = context.get("dag_run")
    value = (context.get("logical_date") or getattr(dag_run, "logical_date", None)
             or getattr(dag_run, "run_after", None))
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, dt.datetime) else str(value)[:10]


def record_command(**fields: Any) -> list[str]:
    """The recorder's command line for one row (fields named like the CLI options)."""
    from c360_dags.operators import project_python

    cmd = [project_python(), "-m", "jobs", "runs", "record"]
    for key, value in fields.items():
        if value is not None and value != "":
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def _spawn(cmd: list[str]) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                              timeout=RECORD_TIMEOUT_SECONDS, check=False)
    except Exception as exc:  # noqa: BLE001 - never let the recorder fail the callback
        log.warning("ops.pipeline_runs: recorder could not run (%s): %s", exc, " ".join(cmd[:6]))
        return
    if done.returncode != 0:
        log.warning("ops.pipeline_runs: recorder exited %s: %s", done.returncode,
                    (done.stderr or done.stdout).strip()[-2000:])
    else:
        log.info("ops.pipeline_runs: %s", (done.stderr or done.stdout).strip().splitlines()[-1:])


def _error_text(context: dict) -> str | None:
    error = context.get("exception")
    if error is None:
        return context.get("reason")
    text = f"{type(error).__name__}: {error}" if not isinstance(error, str) else error
    return text


def _task_row(context: dict, status: str) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    return {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None),
        "run_id": getattr(ti, "run_id", None) or context.get("run_id"),
        "status": status,
        "task_id": getattr(ti, "task_id", None),
        "logical_date": _logical_date(context),
        "try_number": getattr(ti, "try_number", None),
        "error": _error_text(context),
        "started_at": _iso(getattr(ti, "start_date", None)),
        "ended_at": _iso(dt.datetime.now(dt.UTC)),
        "log_url": getattr(ti, "log_url", None),
    }


def _run_row(context: dict, status: str) -> dict[str, Any]:
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    return {
        "dag_id": getattr(dag_run, "dag_id", None) or getattr(dag, "dag_id", None),
        "run_id": getattr(dag_run, "run_id", None) or context.get("run_id"),
        "status": status,
        "logical_date": _logical_date(context),
        "error": context.get("reason") if status == "failed" else None,
        "started_at": _iso(getattr(dag_run, "start_date", None)),
        "ended_at": _iso(getattr(dag_run, "end_date", None) or dt.datetime.now(dt.UTC)),
    }


def _record(row_builder, status: str):
    def callback(context):
        try:
            row = row_builder(context, status)
            if not row.get("dag_id") or not row.get("run_id"):
                log.warning("ops.pipeline_runs: no dag_id/run_id in the callback context; not recorded")
                return
            _spawn(record_command(**row))
        except Exception:  # noqa: BLE001
            log.exception("ops.pipeline_runs: recording failed")

    callback.__name__ = f"record_{row_builder.__name__.strip('_').replace('_row', '')}_{status}"
    return callback


on_task_failure = _record(_task_row, "failed")
on_task_retry = _record(_task_row, "up_for_retry")
on_run_success = _record(_run_row, "success")
on_run_failure = _record(_run_row, "failed")
