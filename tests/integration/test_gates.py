"""Quality gates on real Delta tables: each severity does exactly what it promises.

Two scenarios, each a short sequence of real runs recorded once by a module fixture (a GX
validation costs seconds, so each batch is validated once and the tests read what happened):
- promote(): a silver-like table; a batch with a row to drop and one to warn about is written
  without the dropped row; then a corrupted, half-sized batch is refused and the table stays at
  its previous version.
- gate_bronze: real bronze ingestion; a source that never landed fails freshness; then a day
  with half the usual events fails daily_volume; then a day landed twice fails daily_volume and an
  export whose key column is empty fails file_quarantine_share; a row lost from bronze after
  ingestion fails the per-file reconciliation.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from jobs import registry
from jobs.bronze import ingest
from jobs.quality import GateFailed, IngestedBatches, SuiteError, check, promote
from jobs.quality import gate as bronze_gate
from jobs.quality.gx_runner import build_docs
from jobs.quality.suite import parse_suite
from tests.conftest import make_config

NOW = dt.datetime(2026, 11, 25, 12, 0)
WIDGETS = "silver.widgets"
SUITE = parse_suite({"table": WIDGETS, "expectations": [
    {"name": "widget_id_present", "kind": "not_null", "column": "widget_id", "severity": "fail"},
    {"name": "color_known", "kind": "accepted_values", "column": "color", "values": ["red", "blue"],
     "severity": "drop"},
    {"name": "size_plausible", "kind": "between", "column": "size", "min": 0, "max": 10, "severity": "warn"},
    {"name": "volume_vs_earlier_runs", "kind": "volume", "min_ratio": 0.5, "min_history_runs": 1,
     "severity": "fail"},
]}, "inline", "silver_widgets")
SCHEMA = "widget_id string, color string, size int"


def _read(spark, config, table):
    return spark.read.format("delta").load(str(config.paths.table(table)))


@pytest.fixture(scope="module")
def widgets(spark, tmp_path_factory):
    """Run 1 promotes a batch with one row to drop and one to warn about; run 2 is corrupted."""
    tmp = tmp_path_factory.mktemp("widgets")
    config, gx = make_config(tmp), tmp / "gx"
    path = str(config.paths.table(WIDGETS))
    writes = []

    def write(df):
        writes.append(df.count())
        df.write.format("delta").mode("append").save(path)

    good = spark.createDataFrame([("w1", "red", 1), ("w2", "blue", 50), ("w3", "plaid", 2),
                                  ("w4", "red", 3), ("w5", None, 4), ("w6", "blue", 5)], SCHEMA)
    first = promote(spark, config, WIDGETS, good, "run-1", write, suite=SUITE, now=NOW, gx_folder=gx)
    published = sorted(tuple(r) for r in _read(spark, config, WIDGETS).collect())
    corrupted = spark.createDataFrame([("w7", "red", 1), (None, "blue", 2)], SCHEMA)
    with pytest.raises(GateFailed) as refused:
        promote(spark, config, WIDGETS, corrupted, "run-2", write, suite=SUITE, now=NOW, gx_folder=gx)
    return {"config": config, "gx": gx, "first": first, "published": published, "refused": refused.value,
            "writes": writes}


def test_drop_quarantines_offending_rows_and_promotes_the_rest(spark, widgets):
    config, first = widgets["config"], widgets["first"]
    assert (first.rows_in, first.rows_dropped, first.rows_promoted, first.table_version) == (6, 1, 5, 0)
    assert ("w3", "plaid", 2) not in widgets["published"] and len(widgets["published"]) == 5
    assert ("w5", None, 4) in widgets["published"]  # a null is not a value outside the set (as GX)
    quarantined = _read(spark, config, "ops.quarantine").collect()
    assert [(q.stage, q.source, q.reason, q.batch_id, q.run_id) for q in quarantined] == [
        (WIDGETS, "widgets", "color_known", 0, "run-1")]
    assert json.loads(quarantined[0].raw) == {"widget_id": "w3", "color": "plaid", "size": 2}


def test_warn_is_recorded_only(spark, widgets):
    assert ("w2", "blue", 50) in widgets["published"]
    outcome = next(o for o in widgets["first"].outcomes if o.expectation == "size_plausible")
    assert (outcome.action, outcome.unexpected_count) == ("warned", 1)
    assert "size: 1 of 6 rows unexpected" in outcome.observed and "'size': 50" in outcome.observed


def test_fail_leaves_the_published_table_at_its_previous_version(spark, widgets):
    config = widgets["config"]
    history = spark.sql(f"DESCRIBE HISTORY delta.`{config.paths.table(WIDGETS)}`").collect()
    assert [h.version for h in history] == [0]
    assert sorted(tuple(r) for r in _read(spark, config, WIDGETS).collect()) == widgets["published"]
    assert widgets["writes"] == [5]  # write() was never called for the refused batch
    assert _read(spark, config, "ops.quarantine").where("run_id = 'run-2'").count() == 0


def test_fail_message_names_table_expectation_and_observed_value(widgets):
    message = str(widgets["refused"])
    assert "quality gate failed for silver.widgets (version 0, run run-2, 2 rows)" in message
    assert "widget_id_present [fail, not_null]: widget_id: 1 of 2 rows unexpected" in message
    # half the usual volume is caught too: 2 rows where run-1 had 6
    assert "volume_vs_earlier_runs [fail, volume]: 2 rows (allowed 4 to any)" in message
    assert "Nothing was written: silver.widgets stays at version 0" in message
    assert "color_known" not in message and "size_plausible" not in message


def test_every_result_is_in_ops_quality_results(spark, widgets):
    rows = {(r.run_id, r.expectation): r for r in _read(spark, widgets["config"], "ops.quality_results").collect()}
    assert {(run, e, rows[run, e].action, rows[run, e].table_version) for run, e in rows} == {
        ("run-1", "widget_id_present", "passed", 0), ("run-1", "color_known", "dropped", 0),
        ("run-1", "size_plausible", "warned", 0), ("run-1", "volume_vs_earlier_runs", "passed", 0),
        ("run-2", "widget_id_present", "failed", 0), ("run-2", "color_known", "passed", 0),
        ("run-2", "size_plausible", "passed", 0), ("run-2", "volume_vs_earlier_runs", "failed", 0),
    }
    dropped = rows["run-1", "color_known"]
    assert (dropped.severity, dropped.success, dropped.unexpected_count, dropped.element_count) == ("drop", False, 1, 6)


def test_data_docs_are_built_from_the_stored_results(widgets):
    index = build_docs(widgets["gx"])
    assert index.is_file()
    assert "silver_widgets" in index.read_text(encoding="utf-8")


def test_a_check_that_fails_at_run_time_is_an_error_that_blocks(spark, tmp_path):
    suite = parse_suite({"table": WIDGETS, "expectations": [
        {"name": "broken", "kind": "references", "column": "color", "table": "silver.colors",
         "where": "10 / size > 1", "severity": "warn"},   # size 0: division by zero, at run time only
        {"name": "present", "kind": "not_null", "column": "widget_id", "severity": "fail"}]}, "inline", "silver_widgets")
    frame = spark.createDataFrame([("w1", "red", 1), ("w2", "blue", 0)], SCHEMA)
    result = check(spark, make_config(tmp_path), WIDGETS, frame, "r", suite=suite, now=NOW,
                   gx_folder=tmp_path / "gx", record=False)
    outcomes = {o.expectation: o for o in result.outcomes}
    assert outcomes["broken"].action == "error" and "DIVIDE_BY_ZERO" in outcomes["broken"].error
    assert outcomes["present"].action == "passed"
    assert result.failed  # an expectation that cannot be evaluated proves nothing: it blocks, even at warn


def test_check_refuses_drop_on_an_already_written_table(spark, tmp_path):
    with pytest.raises(SuiteError, match="nothing to drop rows from; use fail or warn for: color_known"):
        check(spark, make_config(tmp_path), WIDGETS, None, "r", suite=SUITE)


# --- gate_bronze on real ingestion ------------------------------------------------------------
DAYS = [dt.date(2026, 11, 10) + dt.timedelta(days=i) for i in range(7)]


def _land_events(config, day: dt.date, count: int, bad: int = 0) -> None:
    folder = config.paths.landing / "events" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"messageId": f"{day}-{i}", "type": "track", "event": "Product Viewed",
                         "timestamp": f"{day}T{i % 24:02d}:00:00Z", "anonymousId": f"a{i}"})
             for i in range(count)]
    (folder / "part-0.jsonl").write_text("\n".join(lines + ["{not json"] * bad) + "\n")


def _land_orders(config, day: dt.date, count: int = 1, key_column_empty: bool = False) -> None:
    folder = config.paths.landing / "orders" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    orders = [{"order_id": None if key_column_empty else f"o{day}-{i}", "customer_id": None,
               "email": "a@example.com", "status": "completed", "ordered_at": f"{day}T10:00:00Z",
               "channel": "web", "currency": "EUR", "total_amount": 10} for i in range(count)]
    (folder / "part-0.jsonl").write_text("".join(json.dumps(o) + "\n" for o in orders))


def _ingest_and_gate(spark, config, run_id, gx, day):
    for source in ("events", "orders"):
        ingest.run(spark, config, source=source, run_id=run_id)
    with pytest.raises(GateFailed) as failed:
        bronze_gate.run(spark, config, run_id=run_id, logical_date=day, gx_folder=gx)
    return failed.value


@pytest.fixture(scope="module")
def bronze_runs(spark, tmp_path_factory):
    """Run 1: five normal days of events, orders never landed. Run 2: orders land, day 6 is half."""
    tmp = tmp_path_factory.mktemp("bronze")
    overrides = {f"sources.{s}.enabled": s in ("events", "orders") for s in registry.SOURCES}
    config, gx = make_config(tmp, **overrides), tmp / "gx"
    for day in DAYS[:5]:
        _land_events(config, day, 40, bad=1 if day == DAYS[0] else 0)
    missing_source = _ingest_and_gate(spark, config, "bronze-1", gx, DAYS[4])
    _land_orders(config, DAYS[5])
    _land_events(config, DAYS[5], 20)
    half_day = _ingest_and_gate(spark, config, "bronze-2", gx, DAYS[5])
    # The same batch checked as a plain frame (no predicate to find it in the table with):
    # daily_volume counts the table and the batch in separate scans and must judge alike.
    events_of_run_2 = bronze_gate.committed_batches(_read(spark, config, "ops.ingested_files"), "bronze-2")["events"]
    with bronze_gate.GateTables(spark, config) as tables:
        half_day_frame = check(spark, config, "bronze.events",
                               bronze_gate.bronze_batch(tables, "events", events_of_run_2).frame,
                               "bronze-2-frame", logical_date=DAYS[5], gx_folder=gx, record=False)
    # A row lost from bronze after ingestion counted it: only the per-file reconciliation sees it.
    DeltaTable.forPath(spark, str(config.paths.table("bronze.events"))).delete(
        "message_id = '2026-11-15-0'")
    files = _read(spark, config, "ops.ingested_files")
    batches = bronze_gate.committed_batches(files, "bronze-2")
    lost_row = check(spark, config, "ops.ingested_files", bronze_gate.files_batch(files, None, batches).frame,
                     "bronze-3", ingested=IngestedBatches(batches), logical_date=DAYS[5], gx_folder=gx)
    # Run 4, two planted problems: day 7's events landed twice (a re-export under another name),
    # and an orders export whose key column is empty in every row.
    _land_events(config, DAYS[6], 40)
    day_folder = config.paths.landing / "events" / DAYS[6].isoformat()
    (day_folder / "part-0-reexport.jsonl").write_bytes((day_folder / "part-0.jsonl").read_bytes())
    _land_orders(config, DAYS[6], count=25, key_column_empty=True)
    planted = _ingest_and_gate(spark, config, "bronze-4", gx, DAYS[6])
    return {"config": config, "missing_source": missing_source, "half_day": half_day, "lost_row": lost_row,
            "planted": planted, "half_day_frame": half_day_frame}


def test_a_missing_source_fails_the_bronze_gate(bronze_runs):
    message = str(bronze_runs["missing_source"])
    assert "quality gate failed for ops.ingested_files" in message
    assert ("newest_file_fresh [fail, freshness]: 1 sources not fresh: orders: no landed file has ever "
            "been ingested (missing source?)") in message
    assert "quality gate failed for bronze." not in message  # the rows that did land are fine
    assert "the pipeline stops at gate_bronze" in message


def test_a_day_with_half_the_usual_events_fails_the_bronze_gate(bronze_runs):
    message = str(bronze_runs["half_day"])
    assert "quality gate failed for bronze.events" in message
    assert "daily_volume [fail, daily_volume]: 1 days out of range: 2026-11-15: 20 rows vs trailing average 40" in message
    assert "bronze.orders" not in message


def test_daily_volume_judges_a_batch_alike_with_or_without_its_predicate(bronze_runs):
    gated = next(r for r in bronze_runs["half_day"].results if r.table == "bronze.events")
    by_name = {o.expectation: o for o in gated.outcomes}
    by_frame = {o.expectation: o for o in bronze_runs["half_day_frame"].outcomes}
    assert by_frame["daily_volume"].action == by_name["daily_volume"].action == "failed"
    assert by_frame["daily_volume"].observed == by_name["daily_volume"].observed


def test_a_day_landed_twice_fails_the_bronze_gate(bronze_runs):
    message = str(bronze_runs["planted"])
    assert "quality gate failed for bronze.events" in message
    assert "daily_volume [fail, daily_volume]: 1 days out of range: 2026-11-16: 80 rows vs trailing average 37" in message


def test_an_export_with_an_empty_key_column_fails_the_bronze_gate(bronze_runs):
    message = str(bronze_runs["planted"])
    assert "quality gate failed for ops.ingested_files" in message
    assert ("no_file_mostly_quarantined [fail, file_quarantine_share]: 1 files mostly quarantined" in message)
    assert ("2026-11-16/part-0.jsonl (bronze.orders): 25 of 25 records quarantined, mostly "
            "missing_required_field (required field 'order_id' is missing or empty)") in message
    assert "the pipeline stops at gate_bronze" in message


def test_a_row_lost_after_ingestion_fails_the_reconciliation(bronze_runs):
    outcome = next(o for o in bronze_runs["lost_row"].outcomes if o.expectation == "files_reconcile")
    assert (outcome.action, outcome.unexpected_count) == ("failed", 1)
    assert ("2026-11-15/part-0.jsonl (bronze.events, batch 2): records 20, accepted 20 vs 19 in the table"
            in outcome.observed)


def test_freshness_judges_each_source_by_its_own_limit(spark, bronze_runs, tmp_path):
    config = bronze_runs["config"]
    suite = parse_suite({"table": "ops.ingested_files", "expectations": [
        {"name": "all_daily", "kind": "freshness", "max_age_hours": 48, "severity": "fail"},
        {"name": "orders_yearly", "kind": "freshness", "max_age_hours": 48,
         "max_age_hours_by_source": {"orders": 24 * 400}, "severity": "fail"}]}, "inline", "ops_ingested_files")
    files = _read(spark, config, "ops.ingested_files")
    # Judged a month after the files landed: every source is stale, unless its own limit says otherwise.
    result = check(spark, config, "ops.ingested_files", files, "late", suite=suite, record=False,
                   logical_date=dt.date.today() + dt.timedelta(days=30), gx_folder=tmp_path / "gx")
    outcomes = {o.expectation: o for o in result.outcomes}
    assert outcomes["all_daily"].observed.startswith("2 sources not fresh: events: newest landed file was modified at ")
    assert "; orders: newest landed file was modified at " in outcomes["all_daily"].observed
    assert outcomes["orders_yearly"].observed.startswith("1 sources not fresh: events: ")
    assert "more than 48 h before the run" in outcomes["orders_yearly"].observed
    with pytest.raises(SuiteError, match="names unknown source.*'ordres'"):
        check(spark, config, "ops.ingested_files", files, "typo", record=False, gx_folder=tmp_path / "gx",
              suite=parse_suite({"table": "ops.ingested_files", "expectations": [
                  {"name": "f", "kind": "freshness", "max_age_hours": 48, "max_age_hours_by_source": {"ordres": 1},
                   "severity": "fail"}]}, "inline", "ops_ingested_files"))


def test_bookkeeping_whose_counts_do_not_add_up_fails(spark, bronze_runs, tmp_path):
    config = bronze_runs["config"]
    files = _read(spark, config, "ops.ingested_files")
    batches = bronze_gate.committed_batches(files, "bronze-2")
    rows = bronze_gate.files_batch(files, None, batches).frame
    tampered = rows.withColumn("accepted", F.when(F.col("source") == "orders", F.col("accepted") + 1)
                               .otherwise(F.col("accepted")))
    result = check(spark, config, "ops.ingested_files", tampered, "tampered", ingested=IngestedBatches(batches),
                   logical_date=DAYS[5], gx_folder=tmp_path / "gx", record=False)
    outcomes = {o.expectation: o for o in result.outcomes}
    assert (outcomes["counts_add_up"].action, outcomes["counts_add_up"].unexpected_count) == ("failed", 1)
    assert outcomes["files_reconcile"].action == "failed"  # one more accepted than bronze.orders holds


def test_bronze_gate_records_every_table_and_reconciles_files(spark, bronze_runs):
    results = _read(spark, bronze_runs["config"], "ops.quality_results").where("run_id = 'bronze-1'")
    by_table = {r.table_name: r.n for r in results.groupBy("table_name").agg(F.count("*").alias("n")).collect()}
    assert set(by_table) == {"bronze.events", "bronze.orders", "ops.quarantine", "ops.ingested_files"}
    events = {r.expectation: r for r in results.where("table_name = 'bronze.events'").collect()}
    assert events["message_id_present"].element_count == 200
    assert all(r.action == "passed" for r in events.values())
    files = {r.expectation: r for r in results.where("table_name = 'ops.ingested_files'").collect()}
    assert files["files_reconcile"].action == "passed" and files["files_reconcile"].element_count == 5
    assert files["newest_file_fresh"].action == "failed"  # orders never landed in that run
    quarantine = results.where("table_name = 'ops.quarantine'").first()
    assert quarantine.element_count == 1  # the malformed line bronze quarantined, checked too


def test_gate_runs_right_after_bronze():
    assert registry.STAGES.index("bronze_gate") == registry.STAGES.index("bronze") + 1
    job = registry.get_job("gate_bronze")
    assert (job.module, job.layer, job.kwargs) == ("jobs.quality.gate", "ops", {"stage": "bronze"})
