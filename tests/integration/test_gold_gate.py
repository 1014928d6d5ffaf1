"""gate_gold on a real generated lake, write-audit-publish: it passes and publishes what the pipeline
wrote; when a run leaves gold broken it fails naming the table, expectation and what it saw, and
publishes nothing. Analysts, through the Spark SQL shell and the JVM-free path, read the published
versions before, during and after the broken run, never its rows; the gold jobs' next run starts
from the published versions, and the broken run's watermarks are gone.
"""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from jobs import registry
from jobs.common.publication import publications, reset_to_published
from jobs.common.tables import commits_tagged, latest_version
from jobs.common.watermarks import read_watermarks, save_watermarks
from jobs.gold import access, fast
from jobs.quality import GateFailed
from jobs.quality import gate as gates
from jobs.runner import run_job
from tests.conftest import make_config
from tests.integration.conftest import END, GOLD_RUN, copy_lake

BAD_RUN = "gold-bad"
LEAKED_EMAIL = "jeanne.martin@example.org"
ANALYST_QUERY = ("SELECT count(*) AS n, count(DISTINCT customer_key) AS customers, "
                 "sum(CASE WHEN last_call_reason LIKE '%@%' THEN 1 ELSE 0 END) AS leaked FROM gold.customer_360")


def _read(spark, config, table, version=None):
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(str(config.paths.table(table)))


def _rows(df):
    return sorted(tuple(r) for r in df.drop("last_touch_at").collect())


def _analysts_see(spark, config) -> dict[str, tuple[int, int, int]]:
    """What the Spark SQL shell (`make sql`) and the JVM-free path (DuckDB) show of customer_360."""
    access.register_analyst_tables(spark, config)
    shell = spark.sql(ANALYST_QUERY).first()
    duckdb = fast.query(ANALYST_QUERY, config.paths.lake).iloc[0]
    return {"sql": (shell.n, shell.customers, shell.leaked),
            "fast": (int(duckdb["n"]), int(duckdb["customers"]), int(duckdb["leaked"]))}


@pytest.fixture(scope="module")
def gated(spark, generated_gold_lake, tmp_path_factory):
    """The pipeline's gold passes; then a run leaves customer_360 with a duplicated customer and
    an email address in a text column, and records its watermark. Analysts look on throughout."""
    tmp = tmp_path_factory.mktemp("gold_gate")
    config, gx = copy_lake(generated_gold_lake[0], tmp), tmp / "gx"
    passed = generated_gold_lake[1]["gate_gold"]     # the pipeline's gold, judged and published

    versions = {t: latest_version(str(config.paths.table(t))) for t in registry.GOLD_TABLES}
    c360 = _read(spark, config, "gold.customer_360")
    published = _rows(c360)
    seen = {"published": _analysts_see(spark, config)}
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
    seen["written, not judged"] = _analysts_see(spark, config)
    with pytest.raises(GateFailed) as failed:
        gates.run(spark, config, run_id=BAD_RUN, stage="gold", logical_date=END, gx_folder=gx)
    seen["gate failed"] = _analysts_see(spark, config)
    broken = _rows(_read(spark, config, "gold.customer_360"))
    rerun = run_job(spark, config, registry.GOLD_CUSTOMER_360, run_id="gold-2", logical_date=END)
    return {"config": config, "passed": passed, "failed": failed.value, "versions": versions, "seen": seen,
            "published": published, "broken": broken, "marks_before": marks_before, "rerun": rerun}


def test_the_gate_passes_and_publishes_what_the_pipeline_wrote(spark, gated):
    passed, config = gated["passed"], gated["config"]
    assert passed.job == "gate_gold" and passed.details["tables"] == len(registry.GOLD_TABLES)
    results = _read(spark, config, "ops.quality_results").where(F.col("run_id") == GOLD_RUN)
    assert {r.table_name for r in results.select("table_name").distinct().collect()} == set(registry.GOLD_TABLES)
    assert results.where(F.col("action").isin("failed", "error")).count() == 0
    customers = _read(spark, config, "silver.customers").count()
    assert _read(spark, config, "gold.customer_360").count() == customers > 0
    published = {t: p.version for t, p in publications(config.paths.lake).items()}
    assert published == gated["versions"]          # the broken run published nothing


def test_a_broken_run_fails_naming_table_expectation_and_observation(gated):
    message = str(gated["failed"])
    assert "quality gate failed for gold.customer_360" in message
    assert "one_row_per_customer [fail, unique]: customer_key: 2 of" in message
    assert "no_direct_identifiers [fail, no_direct_identifiers]: " in message
    assert "email in last_call_reason" in message
    assert LEAKED_EMAIL not in message                 # the message itself must not leak it
    assert "gold.segment_membership" not in message.split("Gold is not published")[0]
    assert "keep reading the last published versions" in message


def test_analysts_never_see_the_unjudged_rows_through_either_entry_point(gated):
    seen = gated["seen"]
    customers = len(gated["published"])
    assert seen["published"] == {"sql": (customers, customers, 0), "fast": (customers, customers, 0)}
    assert seen["written, not judged"] == seen["gate failed"] == seen["published"]
    assert gated["broken"] != gated["published"]       # the rows were there, in the table, all along


def test_the_next_gold_run_starts_from_the_published_versions_without_the_runs_watermarks(spark, gated):
    config = gated["config"]
    assert gated["rerun"].details["mode"] == "incremental"
    assert _rows(_read(spark, config, "gold.customer_360")) == gated["published"]
    marks = str(config.paths.table("ops.job_watermarks"))
    assert spark.read.format("delta").load(marks).where(F.col("run_id") == BAD_RUN).count() == 0
    assert read_watermarks(spark, marks, "gold_customer_360") == gated["marks_before"]


def test_failed_results_are_recorded(spark, gated):
    results = (_read(spark, gated["config"], "ops.quality_results")
               .where((F.col("run_id") == BAD_RUN) & (F.col("action") == "failed")))
    assert {(r.table_name, r.expectation) for r in results.collect()} == {
        ("gold.customer_360", "one_row_per_customer"), ("gold.customer_360", "no_direct_identifiers")}


def test_a_writer_starts_from_what_was_published_or_from_nothing(spark, tmp_path):
    """Each guarded table goes back to its published version, or is emptied when never published;
    the job's watermarks recorded by the unpublished runs go, its published run's stay."""
    from jobs.common.publication import publish

    config = make_config(tmp_path)
    lake = config.paths.lake
    kept, created = (str(config.paths.table(t)) for t in ("gold.kept", "gold.created"))
    marks = str(config.paths.table("ops.job_watermarks"))
    spark.createDataFrame([("old",)], "v string").write.format("delta").save(kept)
    save_watermarks(spark, marks, "some_gold_job", {"silver.x": 1}, "r0")
    publish(spark, lake, {"gold.kept": 0}, "r0", "gate_gold")
    spark.createDataFrame([("new",)], "v string").write.format("delta").mode("append").save(kept)
    spark.createDataFrame([("new",)], "v string").write.format("delta").save(created)
    save_watermarks(spark, marks, "some_gold_job", {"silver.x": 2}, "r1")
    save_watermarks(spark, marks, "other_job", {"silver.x": 5}, "r1")
    done = reset_to_published(spark, lake, "some_gold_job", ("gold.kept", "gold.created", "gold.absent"))
    assert done == ["gold.kept back to published version 0 (was 1)", "gold.created emptied (never published)"]
    assert [r.v for r in spark.read.format("delta").load(kept).collect()] == ["old"]
    assert spark.read.format("delta").load(created).count() == 0
    assert read_watermarks(spark, marks, "some_gold_job") == {"silver.x": 1}
    assert read_watermarks(spark, marks, "other_job") == {"silver.x": 5}
    assert reset_to_published(spark, lake, "some_gold_job", ("gold.kept", "gold.created")) == []


def test_the_gold_gate_runs_right_after_gold():
    assert registry.STAGES[-2:] == ("gold", "gold_gate")
    job = registry.get_job("gate_gold")
    assert set(job.depends_on) == {j.name for j in registry.GOLD_JOBS}
