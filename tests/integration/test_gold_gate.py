"""gate_gold on a real generated lake: it passes what the pipeline wrote, and when a run leaves
gold broken it fails naming the table, expectation and what it saw, and every gold table that
run changed is back at its version before the run (watermarks included), so nothing is published.
"""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from jobs import registry
from jobs.common.tables import commits_tagged
from jobs.common.watermarks import read_watermarks, save_watermarks
from jobs.quality import GateFailed
from jobs.quality import gate as gates
from jobs.quality.rollback import restore_before_run
from tests.conftest import make_config
from tests.integration.conftest import END, GOLD_RUN, copy_lake

BAD_RUN = "gold-bad"
LEAKED_EMAIL = "jeanne.martin@example.org"


def _read(spark, config, table, version=None):
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(str(config.paths.table(table)))


def _version(spark, config, table):
    return DeltaTable.forPath(spark, str(config.paths.table(table))).history(1).first()["version"]


def _rows(df):
    return sorted(tuple(r) for r in df.drop("last_touch_at").collect())


@pytest.fixture(scope="module")
def gated(spark, generated_gold_lake, tmp_path_factory):
    """The pipeline's gold passes; then a run leaves customer_360 with a duplicated customer and
    an email address in a text column, and records its watermark: the gate must undo it all."""
    tmp = tmp_path_factory.mktemp("gold_gate")
    config, gx = copy_lake(generated_gold_lake[0], tmp), tmp / "gx"
    passed = gates.run(spark, config, run_id=GOLD_RUN, stage="gold", logical_date=END, gx_folder=gx)

    versions = {t: _version(spark, config, t) for t in registry.GOLD_TABLES}
    c360 = _read(spark, config, "gold.customer_360")
    published = _rows(c360)
    marks = str(config.paths.table("ops.job_watermarks"))
    marks_before = read_watermarks(spark, marks, "gold_customer_360")
    with commits_tagged(spark, BAD_RUN, "gold_customer_360"):
        rows = c360.orderBy("customer_key").limit(2).collect()   # held before the table changes
        keys = [r.customer_key for r in rows]
        duplicate = spark.createDataFrame(rows[:1], c360.schema)
        leaked = spark.createDataFrame(rows[1:], c360.schema).withColumn(
            "last_call_reason", F.lit(f"wants refund, write to {LEAKED_EMAIL}"))
        (DeltaTable.forPath(spark, str(config.paths.table("gold.customer_360"))).delete(
            F.col("customer_key") == keys[1]))
        duplicate.unionByName(leaked).write.format("delta").mode("append").save(
            str(config.paths.table("gold.customer_360")))
        save_watermarks(spark, marks, "gold_customer_360", {t: 10**6 for t in marks_before}, BAD_RUN)
    with pytest.raises(GateFailed) as failed:
        gates.run(spark, config, run_id=BAD_RUN, stage="gold", logical_date=END, gx_folder=gx)
    return {"config": config, "passed": passed, "failed": failed.value, "versions": versions,
            "published": published, "marks_before": marks_before, "keys": keys}


def test_the_gate_passes_what_the_pipeline_wrote(spark, gated):
    passed, config = gated["passed"], gated["config"]
    assert passed.job == "gate_gold" and passed.details["tables"] == len(registry.GOLD_TABLES)
    results = _read(spark, config, "ops.quality_results").where(F.col("run_id") == GOLD_RUN)
    assert {r.table_name for r in results.select("table_name").distinct().collect()} == set(registry.GOLD_TABLES)
    assert results.where(F.col("action").isin("failed", "error")).count() == 0
    customers = _read(spark, config, "silver.customers").count()
    assert _read(spark, config, "gold.customer_360").count() == customers > 0


def test_a_broken_run_fails_naming_table_expectation_and_observation(gated):
    message = str(gated["failed"])
    assert "quality gate failed for gold.customer_360" in message
    assert "one_row_per_customer [fail, unique]: customer_key: 2 of" in message
    assert "no_direct_identifiers [fail, no_direct_identifiers]: " in message
    assert "email in last_call_reason" in message
    assert LEAKED_EMAIL not in message                 # the message itself must not leak it
    assert "gold.segment_membership" not in message.split("Gold is not published")[0]
    assert f"gold.customer_360 back to version {gated['versions']['gold.customer_360']}" in message


def test_every_gold_table_is_back_at_its_version_before_the_run(spark, gated):
    config = gated["config"]
    assert _rows(_read(spark, config, "gold.customer_360")) == gated["published"]
    for table, version in gated["versions"].items():
        if table != "gold.customer_360":              # untouched by the broken run: not rewritten
            assert _version(spark, config, table) == version, table
    assert _read(spark, config, "gold.customer_360").where(F.col("last_call_reason").contains("@")).count() == 0


def test_the_runs_watermarks_are_undone_too(spark, gated):
    marks = str(gated["config"].paths.table("ops.job_watermarks"))
    assert read_watermarks(spark, marks, "gold_customer_360") == gated["marks_before"]
    rows = spark.read.format("delta").load(marks).where(F.col("run_id") == BAD_RUN).count()
    assert rows == 0


def test_failed_results_are_recorded(spark, gated):
    results = (_read(spark, gated["config"], "ops.quality_results")
               .where((F.col("run_id") == BAD_RUN) & (F.col("action") == "failed")))
    assert {(r.table_name, r.expectation) for r in results.collect()} == {
        ("gold.customer_360", "one_row_per_customer"), ("gold.customer_360", "no_direct_identifiers")}


def test_restore_undoes_only_the_runs_commits(spark, tmp_path):
    config = make_config(tmp_path)
    kept, created = (str(config.paths.table(t)) for t in ("gold.kept", "gold.created"))
    spark.createDataFrame([("old",)], "v string").write.format("delta").save(kept)   # before the run
    with commits_tagged(spark, "r1", "some_gold_job"):
        spark.createDataFrame([("new",)], "v string").write.format("delta").mode("append").save(kept)
        spark.createDataFrame([("new",)], "v string").write.format("delta").save(created)
    restored = restore_before_run(spark, config, ["gold.kept", "gold.created", "gold.absent"], "r1", [])
    assert [(r.table, r.to_version) for r in restored] == [("gold.kept", 0), ("gold.created", None)]
    assert [r.v for r in spark.read.format("delta").load(kept).collect()] == ["old"]
    assert spark.read.format("delta").load(created).count() == 0


def test_the_gold_gate_runs_right_after_gold():
    assert registry.STAGES[-2:] == ("gold", "gold_gate")
    job = registry.get_job("gate_gold")
    assert set(job.depends_on) == {j.name for j in registry.GOLD_JOBS}
