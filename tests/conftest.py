"""One session-scoped SparkSession with Delta for the whole suite, tuned for tiny data.

Each setting has a reason: tests are dominated by fixed costs, not data volume.
"""

from __future__ import annotations

import pytest

from jobs.common.config import load_config

TEST_SPARK_CONF = {
    "spark.sql.shuffle.partitions": "2",        # tiny data: 200 (or 8) partitions is pure overhead
    "spark.default.parallelism": "2",            # the CI machine has 2 cores
    "spark.sql.adaptive.enabled": "false",       # stable plans, fewer extra stages on tiny data
    "spark.ui.enabled": "false",                 # no web UI port per test run
    "spark.ui.showConsoleProgress": "false",     # progress bars garble pytest output
    "spark.databricks.delta.snapshotPartitions": "1",  # Delta log replay on 1 partition
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "1",
    "spark.driver.memory": "2g",
    "spark.python.worker.reuse": "true",         # Python workers (bronze reader) start once
}


def make_config(tmp_path, **overrides):
    """A Config whose landing, lake, truth and checkpoints live under tmp_path."""
    base = {
        "env": "test",
        "paths.landing": str(tmp_path / "landing"),
        "paths.lake": str(tmp_path / "lake"),
        "paths.truth": str(tmp_path / "truth"),
        "paths.checkpoints": str(tmp_path / "checkpoints"),
        "paths.restricted": str(tmp_path / "restricted"),
    }
    base.update(overrides)
    return load_config(overrides=base, environ={})


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from jobs.common.spark import build_spark

    config = make_config(tmp_path_factory.mktemp("spark"))
    session = build_spark(config, app_name="customer360-tests", extra_conf=TEST_SPARK_CONF)
    yield session
    session.stop()


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path)
