"""Console logging for every entry point: date, time, level, the run id and job, the logger.

    2026-12-07 11:27:19 INFO run=manual__20261207T112641Z__339e3c job=gold_campaign_results jobs: ...

`job_context(run_id, job)` names the run and job for every line logged inside it (the job runner
wraps each job in it); outside a job both read "-". A worker thread starts with a fresh context:
work handed to a pool with `submit_in_context` keeps the run and job of the code that handed it.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager

FORMAT = "%(asctime)s %(levelname)s run=%(run_id)s job=%(job)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
NOISY = ("py4j", "pyspark", "mlflow")      # libraries whose INFO lines drown the pipeline's own

_current: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("c360_job", default=("-", "-"))


class JobFields(logging.Filter):
    """Adds `run_id` and `job` to every record (from the current job_context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id, record.job = _current.get()
        return True


@contextmanager
def job_context(run_id: str, job: str) -> Iterator[None]:
    token = _current.set((run_id, job))
    try:
        yield
    finally:
        _current.reset(token)


def submit_in_context(pool: Executor, fn: Callable, *args) -> Future:
    """pool.submit(fn, *args), run in a copy of the caller's context (its run id and job)."""
    return pool.submit(contextvars.copy_context().run, fn, *args)


def console_handler(stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(JobFields())
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    return handler


def setup_logging(level: int = logging.INFO) -> None:
    """INFO and above to stderr in FORMAT; the noisy libraries at WARNING."""
    logging.basicConfig(level=level, handlers=[console_handler()])
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
