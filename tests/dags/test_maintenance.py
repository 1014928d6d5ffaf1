"""Delta housekeeping: compaction rewrites small files; VACUUM keeps the time-travel window."""

from __future__ import annotations

import pytest

from jobs.common.errors import JobError
from jobs.ops import maintenance


def test_retention_is_the_time_travel_window_never_below_the_table_minimum():
    assert maintenance.retention_hours(30, {}) == 720
    assert maintenance.retention_hours(7, {}) == 168
    assert maintenance.retention_hours(7, {"delta.deletedFileRetentionDuration": "interval 14 days"}) == 336
    assert maintenance.retention_hours(30, {"delta.deletedFileRetentionDuration": "interval 1 weeks"}) == 720
    assert maintenance.interval_hours("interval 36 hours") == 36


def test_time_travel_window_from_the_config_section():
    from types import SimpleNamespace

    from jobs.common.errors import ConfigError

    assert maintenance.maintenance_settings(SimpleNamespace()).time_travel_days == 30
    assert maintenance.maintenance_settings(SimpleNamespace(maintenance={"time_travel_days": 14})).time_travel_days == 14
    with pytest.raises(ConfigError, match="maintenance.time_travel_days"):
        maintenance.maintenance_settings(SimpleNamespace(maintenance={"time_travel_days": 3}))
    with pytest.raises(ConfigError, match="maintenance.retention"):
        maintenance.maintenance_settings(SimpleNamespace(maintenance={"retention": 3}))


def _small_table(spark, config, name="silver.things", appends=4):
    path = str(config.paths.table(name))
    for i in range(appends):
        spark.range(i * 10, i * 10 + 10).coalesce(1).write.format("delta").mode("append").save(path)
    return path


def test_compact_then_vacuum_keeps_time_travel(spark, config):
    path = _small_table(spark, config)
    result = maintenance.run(spark, config, action="compact", run_id="r1")
    assert result.details["per_table"] == {"silver.things": "4->1 files"}
    # vacuum with the default 30-day window: the files compaction replaced are days too young
    # to go, so every version stays readable
    maintenance.run(spark, config, action="vacuum", run_id="r1")
    first = spark.read.format("delta").option("versionAsOf", 0).load(path)
    assert first.count() == 10
    assert spark.read.format("delta").load(path).count() == 40


def test_vacuum_dry_run_and_bad_arguments(spark, config):
    _small_table(spark, config, "bronze.stuff", appends=1)
    result = maintenance.run(spark, config, action="vacuum", run_id="r1", dry_run=True,
                             tables=["bronze.stuff"])
    assert result.details["per_table"]["bronze.stuff"].startswith("0 files would be deleted (retain 720h)")
    with pytest.raises(JobError, match="7-day safety minimum"):
        maintenance.run(spark, config, action="vacuum", run_id="r1", retention_days=1)
    with pytest.raises(JobError, match="no Delta table gold.nope"):
        maintenance.run(spark, config, action="compact", run_id="r1", tables=["gold.nope"])
