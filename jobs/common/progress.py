"""A progress line per running Spark stage while a long job works, through Spark's public status
tracker (no UI server needed, so it works with `spark.ui.enabled: false` and in Airflow's logs):

    2026-12-07 11:40:05 INFO run=... job=resolve_identity jobs.progress: stage 41: 37/200 tasks done, 2 running

A stage gets a line once it has run for `every` seconds, then every `every` seconds until it ends;
short jobs print nothing.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("jobs.progress")

EVERY_SECONDS = 30.0


def stage_lines(tracker, started: dict[int, float], reported: dict[int, float], now: float,
                every: float) -> list[str]:
    """The lines due at `now` for the stages running now; `started` and `reported` (stage id ->
    time first seen / last reported) are updated in place."""
    lines = []
    active = set(tracker.getActiveStageIds())
    for stage_id in sorted(active):
        first = started.setdefault(stage_id, now)
        if now - max(first, reported.get(stage_id, first)) < every:
            continue
        info = tracker.getStageInfo(stage_id)
        if info is None:        # finished between the two calls
            continue
        reported[stage_id] = now
        lines.append(f"stage {stage_id} ({info.name.split(' at ')[0]}): {info.numCompletedTasks}/{info.numTasks} "
                     f"tasks done, {info.numActiveTasks} running")
    for gone in set(started) - active:
        started.pop(gone, None)
        reported.pop(gone, None)
    return lines


@contextmanager
def stage_progress(spark, every: float = EVERY_SECONDS) -> Iterator[None]:
    """Log a progress line per long-running stage while the block runs (a daemon thread that reads
    the status tracker every second; lines carry the caller's run id and job)."""
    tracker = spark.sparkContext.statusTracker()
    stop = threading.Event()

    def watch() -> None:
        started: dict[int, float] = {}
        reported: dict[int, float] = {}
        while not stop.wait(1.0):
            try:
                for line in stage_lines(tracker, started, reported, time.monotonic(), every):
                    log.info(line)
            except Exception:  # noqa: BLE001 - progress must never fail a job (e.g. the session stopping)
                return

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(watch,), name="stage-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
