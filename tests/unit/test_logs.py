"""Console log lines carry the date, the run id and the job, also from a gate's worker threads."""

import io
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from jobs.common.logs import console_handler, job_context, submit_in_context

LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} INFO run=(\S+) job=(\S+) c360.test: (.*)$")


def _logged(action) -> list[tuple[str, ...]]:
    stream = io.StringIO()
    logger = logging.getLogger("c360.test")
    handler = console_handler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        action(logger)
    finally:
        logger.removeHandler(handler)
    return [LINE.match(line).groups() for line in stream.getvalue().splitlines()]


def test_a_line_names_the_run_and_job_it_was_logged_in():
    def action(log):
        log.info("before")
        with job_context("run-1", "ingest_events"):
            log.info("inside")
        log.info("after")

    assert _logged(action) == [("-", "-", "before"), ("run-1", "ingest_events", "inside"), ("-", "-", "after")]


def test_work_handed_to_a_thread_pool_keeps_the_run_and_job():
    def action(log):
        with ThreadPoolExecutor(max_workers=1) as pool, job_context("run-2", "gate_bronze"):
            submit_in_context(pool, log.info, "from a worker").result()
            pool.submit(log.info, "plain submit").result()

    assert _logged(action) == [("run-2", "gate_bronze", "from a worker"), ("-", "-", "plain submit")]
