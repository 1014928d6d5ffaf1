"""A long Spark stage gets progress lines (real Spark, its public status tracker); a short one none."""

import logging
import time

from jobs.common.progress import stage_progress


def _slow(x):
    time.sleep(1.5)
    return x


def test_a_long_stage_reports_its_tasks_and_a_short_one_stays_quiet(spark, caplog):
    with caplog.at_level(logging.INFO, logger="jobs.progress"):
        with stage_progress(spark, every=1.0):
            assert spark.sparkContext.parallelize(range(4), 2).map(_slow).count() == 4
        lines = [r.getMessage() for r in caplog.records if r.name == "jobs.progress"]
        assert lines and all(" tasks done, " in line and "/2 tasks" in line for line in lines), lines
        caplog.clear()
        with stage_progress(spark, every=30.0):
            assert spark.range(10).count() == 10
        assert [r for r in caplog.records if r.name == "jobs.progress"] == []
