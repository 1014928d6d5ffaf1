"""One definition per kind: GX's verdict and the Spark predicate that drops rows agree, row for row.

One GX validation for the whole module (it costs seconds whatever the size); everything else is
pure DataFrame or pure Python.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from jobs.quality import validate
from jobs.quality.errors import SuiteError
from jobs.quality.gx_runner import GxSession, gx_expectations
from jobs.quality.kinds import KINDS, BatchContext, result_dict, rows_where
from jobs.quality.outcomes import GateResult, Outcome, gate_failed
from jobs.quality.records import FAILED, dropped_rows, flag_drops, kept_rows, result_rows
from jobs.quality.suite import parse_suite
from jobs.quality.validate import sql_results, validate_one, with_derived
from tests.conftest import make_config

NOW = dt.datetime(2026, 11, 25, 12, 0)
ROWS = [  # id, code, amount, ts_text, k1, k2, note
    ("a", "x", 1.0, "2026-11-20T10:00:00Z", 1, 1, "call me on +33 6 12 34 56 78"),
    ("b", "y", -5.0, "2030-01-01T00:00:00", 1, 1, "refund to marie.l@exemple.fr"),
    ("b", "z", 10.0, "garbage", 1, 2, "C000123 from 192.168.10.7"),
    (None, None, None, None, None, None, None),
    ("c", "x", 3.0, "2026-11-25 00:00:00", None, None, "order 0061234 at 10:00:00.123, key ck_0038372947900f0e6e8f, 0612345678x"),
    ("d", "BAD", 100.0, "2026-11-27T00:00:00+00:00", 2, None, "0612345678"),
]
SPECS = [  # name, kind, params, GX unexpected count expected on ROWS
    ("id_present", "not_null", {"column": "id"}, 1),
    ("id_unique", "unique", {"column": "id"}, 2),
    ("pair_unique", "unique", {"columns": ["k1", "k2"]}, 2),
    ("code_known", "accepted_values", {"column": "code", "values": ["x", "y", "z"]}, 1),
    ("code_lowercase", "regex", {"column": "code", "pattern": "^[a-z]$"}, 1),
    ("amount_in_range", "between", {"column": "amount", "min": 0, "max": 50}, 2),
    ("text_not_in_future", "not_in_future", {"column": "ts_text", "tolerance_hours": 24}, 2),
    ("typed_not_in_future", "not_in_future", {"column": "ts", "tolerance_hours": 24}, 2),
    ("positive_or_x", "expression", {"sql": "amount >= 0 OR code = 'x'"}, 1),
    ("no_identifiers", "no_direct_identifiers", {}, 4),
]


@pytest.fixture(scope="module")
def frame(spark):
    df = spark.createDataFrame(ROWS, "id string, code string, amount double, ts_text string, k1 int, k2 int, "
                                     "note string")
    return df.withColumn("ts", F.expr("try_cast(ts_text AS TIMESTAMP)"))


@pytest.fixture(scope="module")
def suite():
    return parse_suite({"table": "silver.widgets", "expectations": [
        {"name": name, "kind": kind, "severity": "drop", **params} for name, kind, params, _ in SPECS]},
        "inline", "silver_widgets")


@pytest.fixture(scope="module")
def validated(spark, frame, suite, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kinds")
    ctx = BatchContext(spark=spark, config=make_config(tmp), table="silver.widgets", run_id="unit",
                       frame=frame, now=NOW, reference_time=NOW, logical_date=None, declared=None,
                       written=False)
    outcomes, rows, ctx = validate_one(suite, ctx, GxSession(tmp / "gx"))
    return {o.expectation: o for o in outcomes}, rows, ctx


def test_gx_counts_what_each_kind_means(validated):
    outcomes, rows, _ = validated
    assert rows == len(ROWS)
    assert {name: outcomes[name].unexpected_count for name, *_ in SPECS} == {name: n for name, *_, n in SPECS}
    assert all(o.action == "dropped" and o.error is None for o in outcomes.values())


def test_gx_gives_each_expectation_its_exact_counts(frame, tmp_path):
    """At the gate's result format GX reports every column-map expectation's unexpected and element
    counts, and a SQL check's row count: the figures the outcomes are made of."""
    gxe = gx_expectations()
    expectations = [gxe.ExpectColumnValuesToNotBeNull(column="id"),
                    gxe.ExpectColumnValuesToBeInSet(column="code", value_set=["x", "y", "z"]),
                    gxe.UnexpectedRowsExpectation(unexpected_rows_query="SELECT * FROM {batch} WHERE code = 'x'")]
    results = GxSession(tmp_path / "gx").validate("unit_counts", "silver.widgets", expectations, frame,
                                                  run_name="unit", run_time=NOW)
    assert [(r.success, r.result["unexpected_count"], r.result["element_count"]) for r in results[:2]] == [
        (False, 1, 6), (False, 1, 6)]
    assert (results[2].success, results[2].result["observed_value"]) == (False, 2)


def test_a_metric_that_fails_leaves_the_other_counts_to_gx(frame, tmp_path):
    """Aggregates wait while other metrics progress, never on one GX keeps retrying: a SQL check that
    fails while running is GX's error to report, and every other expectation still gets its count."""
    gxe = gx_expectations()
    expectations = [gxe.ExpectColumnValuesToNotBeNull(column="id"),
                    gxe.UnexpectedRowsExpectation(unexpected_rows_query="SELECT * FROM {batch} WHERE raise_error('broken check') IS NULL"),
                    gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=50)]
    results = {r["type"]: r for r in map(result_dict, GxSession(tmp_path / "gx").validate(
        "unit_failing_metric", "silver.widgets", expectations, frame, run_name="unit", run_time=NOW))}
    assert {t: (r["success"], r["result"].get("unexpected_count"), r["result"].get("element_count"), r["error"])
            for t, r in results.items() if t != "unexpected_rows_expectation"} == {
        "expect_column_values_to_not_be_null": (False, 1, 6, None),
        "expect_column_values_to_be_between": (False, 2, 6, None)}
    failed = results["unexpected_rows_expectation"]
    assert not failed["success"] and "broken check" in failed["error"]


def test_a_suite_saved_again_holds_only_its_new_expectations(frame, tmp_path):
    """Every gate run rewrites its suites (limits move with the run): the stored suite, which Data
    Docs show, is this run's, each expectation with an id, and the validation runs on it."""
    gxe, session = gx_expectations(), GxSession(tmp_path / "gx")
    first = session.validate("unit_resaved", "silver.widgets", [gxe.ExpectColumnValuesToNotBeNull(column="id")],
                             frame, run_name="first", run_time=NOW)
    second = session.validate("unit_resaved", "silver.widgets",
                              [gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=50)],
                              frame, run_name="second", run_time=NOW)
    stored = session.context().suites.get("unit_resaved")
    assert [(e.expectation_type, bool(e.id)) for e in stored.expectations] == [
        ("expect_column_values_to_be_between", True)]
    assert [(r.expectation_config.type, r.result["unexpected_count"]) for r in first + second] == [
        ("expect_column_values_to_not_be_null", 1), ("expect_column_values_to_be_between", 2)]


@pytest.mark.parametrize("name", [s[0] for s in SPECS])
def test_the_drop_predicate_selects_exactly_the_rows_gx_counts(validated, suite, name):
    outcomes, _, ctx = validated
    spec = next(s for s in suite.specs if s.name == name)
    assert rows_where(ctx.frame, KINDS[spec.kind].unexpected(spec, ctx)).count() == outcomes[name].unexpected_count


def test_observed_values_quote_offending_rows(validated):
    outcomes, _, _ = validated
    assert "amount: 2 of 6 rows unexpected" in outcomes["amount_in_range"].observed
    assert "-5.0" in outcomes["amount_in_range"].observed and "100.0" in outcomes["amount_in_range"].observed
    assert "2030-01-01T00:00:00" in outcomes["text_not_in_future"].observed


def test_identifiers_are_located_never_quoted(validated):
    observed = validated[0]["no_identifiers"].observed
    for where in ("phone in note", "email in note", "ip_address in note"):
        assert where in observed
    assert "marie.l" not in observed and "12 34" not in observed and "192.168" not in observed


def test_derived_columns_only_where_a_kind_needs_one(spark, frame, suite):
    ctx = BatchContext(spark=spark, config=None, table="silver.widgets", run_id="unit", frame=frame,
                       now=NOW, reference_time=NOW, logical_date=None, declared=None, written=False)
    assert with_derived(suite, ctx).derived == ("__text_not_in_future__as_timestamp", "__positive_or_x__holds",
                                                "__no_identifiers__found")


# --- the drop split, pure ---------------------------------------------------------------------
def test_split_keeps_clean_rows_and_quarantines_the_rest_with_the_first_reason(spark):
    batch = spark.createDataFrame([("k1", "x", "f.jsonl", 3), ("k2", None, "f.jsonl", 4), (None, None, "g.jsonl", 1)],
                                  "key string, code string, _source_file string, _line_number bigint")
    flagged = batch.transform(flag_drops([("key_present", F.col("key").isNull()),
                                          ("code_present", F.col("code").isNull())]))
    assert_df_equality(kept_rows(flagged), batch.limit(1))
    quarantined = dropped_rows(flagged, stage="silver.things", source="things", batch_id=7, run_id="r",
                               quarantined_at=NOW)
    expected = spark.createDataFrame([
        ("silver.things", "things", "f.jsonl", 4, '{"key":"k2","_source_file":"f.jsonl","_line_number":4}',
         "code_present", "failed expectations of expectations/silver_things.yaml: code_present", 7, "r", NOW),
        ("silver.things", "things", "g.jsonl", 1, '{"_source_file":"g.jsonl","_line_number":1}',
         "key_present", "failed expectations of expectations/silver_things.yaml: key_present, code_present",
         7, "r", NOW),
    ], quarantined.schema)
    assert_df_equality(quarantined, expected, ignore_row_order=True, ignore_nullable=True)
    assert FAILED not in kept_rows(flagged).columns


def test_dropped_rows_without_lineage_columns(spark):
    batch = spark.createDataFrame([("k1",)], "key string")
    flagged = batch.transform(flag_drops([("always", F.lit(True))]))
    row = dropped_rows(flagged, stage="gold.x", source="x", batch_id=0, run_id="r", quarantined_at=NOW).first()
    assert (row.source_file, row.line_number, row.raw, row.reason) == (None, None, '{"key":"k1"}', "always")


# --- outcomes and the failure message, pure ---------------------------------------------------
def test_actions_and_what_blocks():
    assert Outcome("a", "not_null", "fail", False, "1 of 2").action == "failed"
    assert Outcome("a", "not_null", "drop", False, "1 of 2").action == "dropped"
    assert Outcome("a", "not_null", "warn", False, "1 of 2").action == "warned"
    assert Outcome("a", "not_null", "warn", True, "").action == "passed"
    broken = Outcome("a", "expression", "warn", False, "", error="no such column")
    assert broken.action == "error" and broken.blocks
    assert not Outcome("a", "not_null", "drop", False, "").blocks


def test_failure_message_names_table_expectation_observed_value_and_what_to_do():
    result = GateResult(table="silver.orders", suite="silver_orders", run_id="run-9", table_version=4,
                        outcomes=[Outcome("order_id_present", "not_null", "fail", False,
                                          "order_id: 3 of 10 rows unexpected", 3),
                                  Outcome("late", "not_in_future", "warn", False, "1 of 10")], rows_in=10)
    message = str(gate_failed([result], "Nothing was written"))
    assert "quality gate failed for silver.orders (version 4, run run-9, 10 rows)" in message
    assert "order_id_present [fail, not_null]: order_id: 3 of 10 rows unexpected" in message
    assert "late" not in message  # warnings are recorded, not reasons to stop
    assert "expectations/silver_orders.yaml" in message and "run_id = 'run-9'" in message
    rows = result_rows(result, NOW)
    assert [(r[4], r[7], r[8], r[10]) for r in rows] == [("order_id_present", False, "failed", 3),
                                                         ("late", False, "warned", None)]


def test_checks_read_the_version_first_resolved_not_a_later_commit(spark, frame, tmp_path):
    config = make_config(tmp_path)
    path = str(config.paths.table("silver.things"))
    spark.range(5).write.format("delta").save(path)
    ctx = BatchContext(spark=spark, config=config, table="silver.widgets", run_id="unit", frame=frame,
                       now=NOW, reference_time=NOW, logical_date=None, declared=None, written=True)
    assert ctx.table_exists("silver.things") and not ctx.table_exists("silver.missing")
    first = ctx.table_ref("silver.things")
    spark.range(3).write.format("delta").mode("append").save(path)  # lands while the gate runs
    assert ctx.table_ref("silver.things") == first and first.endswith("VERSION AS OF 0")
    assert spark.sql(f"SELECT count(*) AS n FROM {first}").first()["n"] == 5


def _shared_batches(spark, config, visits_where: str | None = None):
    """Two tables' batches whose references (to one table) and daily volumes can share a query:
    each has 19 rows of an unknown customer, a null row, and on its last day a quarter of its usual rows."""
    ats = [f"2026-11-{d}T10:00:00Z" for d in range(15, 25) for _ in range(4 if d < 24 else 1)]
    batches = []
    for table, unknown in (("silver.sales", "c9"), ("silver.visits", "c8")):
        frame = spark.createDataFrame([("c1" if i % 2 else unknown, at) for i, at in enumerate(ats)] + [(None, None)],
                                      "customer_id string, at string")
        known = {"name": "known", "kind": "references", "column": "customer_id", "table": "silver.customers",
                 "severity": "warn", **({"where": visits_where} if visits_where and table == "silver.visits" else {})}
        suite = parse_suite({"table": table, "expectations": [
            known, {"name": "daily", "kind": "daily_volume", "date_column": "at", "severity": "warn"}]},
            "inline", table.replace(".", "_"))
        batches.append((suite, BatchContext(spark=spark, config=config, table=table, run_id="unit", frame=frame,
                                            now=NOW, reference_time=NOW, logical_date=dt.date(2026, 11, 24),
                                            declared=None, written=False)))
    return batches


def test_checks_sharing_a_key_run_as_one_query_with_each_its_own_result(spark, tmp_path, monkeypatch):
    config = make_config(tmp_path)
    spark.createDataFrame([("c1",), ("c2",)], "customer_id string").write.format("delta").save(
        str(config.paths.table("silver.customers")))
    computed = []
    monkeypatch.setattr(validate, "_computed", lambda query: computed.append(query) or query.localCheckpoint())
    batches = _shared_batches(spark, config)
    with sql_results(batches) as pending:
        ready = [p.ready() for p in pending]
        assert len(computed) == 2  # one query per kind, not one per table and kind
        for (suite, _), ctx in zip(batches, ready, strict=True):
            ctx.frame.createOrReplaceTempView("alone_batch")
            for spec in suite.specs:  # each its own result, as its own query gives it
                alone = spark.sql(KINDS[spec.kind].query(spec, ctx).format(batch="alone_batch"))
                assert_df_equality(spark.table(ctx.views[spec.name]), alone, ignore_row_order=True)
        sales, visits = ({s.name: spark.table(c.views[s.name]).collect() for s in suite.specs}
                         for (suite, _), c in zip(batches, ready, strict=True))
    assert [r.customer_id for r in sales["known"]] == ["c9"] * 19
    assert [r.customer_id for r in visits["known"]] == ["c8"] * 19
    assert [tuple(r) for r in sales["daily"]] == [tuple(r) for r in visits["daily"]] == [("2026-11-24", 1, 4, 7)]


def test_a_check_result_is_held_whole_on_either_side_of_the_local_limit(spark, monkeypatch):
    """Small results (every check that holds) are held by the driver, larger ones in local checkpoints:
    either way the view has every row of the query, and reading it no longer runs the query."""
    monkeypatch.setattr(validate, "LOCAL_RESULT_ROWS", 3)
    for rows in (0, 3, 4, 10):
        query = spark.range(100).where(f"id < {rows}").selectExpr("id", "CAST(id AS STRING) AS label")
        held = validate._computed(query)
        assert_df_equality(held, query, ignore_row_order=True)
        assert held.isLocal() == (rows <= 3)   # a local relation: collected without Spark tasks


def test_a_batch_is_validated_while_the_checks_of_another_still_run(spark, tmp_path, monkeypatch):
    """SQL checks are computed in the background: a batch whose results are ready is handed out first,
    and the one whose checks were held back follows, its views then complete."""
    config = make_config(tmp_path)
    spark.createDataFrame([("c1",)], "customer_id string").write.format("delta").save(
        str(config.paths.table("silver.customers")))
    release, computed = threading.Event(), validate._computed
    monkeypatch.setattr(validate, "_computed", lambda query: release.wait(120) and computed(query))
    held = _shared_batches(spark, config)[0]
    plain = parse_suite({"table": "silver.plain", "expectations": [
        {"name": "id_present", "kind": "not_null", "column": "customer_id", "severity": "warn"}]}, "inline",
        "silver_plain")
    batches = [held, (plain, dataclasses.replace(held[1], table="silver.plain"))]
    order = []
    with sql_results(batches) as pending:
        assert not pending[0].done()
        for i in validate.in_completion_order(pending):
            order.append(i)
            release.set()  # only once the plain batch was handed out
        ctx = pending[0].ready()
        assert spark.table(ctx.views["known"]).count() == 19
    assert order == [1, 0]


def test_analysis_errors_on_several_threads_at_once_stay_analysis_errors(spark):
    """A gate analyses SQL checks on several threads: each broken query must raise PySpark's
    AnalysisException (which the gate turns into a message naming the expectation), never a
    TypeError from a query-context logger created with the wrong class (jobs.common.spark)."""
    from concurrent.futures import ThreadPoolExecutor

    from pyspark.errors import AnalysisException

    def broken(i):
        try:
            spark.sql(f"SELECT no_such_column_{i} FROM range(1)")
        except AnalysisException:
            return "analysis"
        return "no error"

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(broken, range(32))) == {"analysis"}


def test_a_shared_query_that_does_not_work_names_the_expectation(spark, tmp_path):
    config = make_config(tmp_path)
    spark.createDataFrame([("c1",)], "customer_id string").write.format("delta").save(
        str(config.paths.table("silver.customers")))
    with pytest.raises(SuiteError, match=r"inline: expectation .known.*silver.visits.*no_such_column"):
        with sql_results(_shared_batches(spark, config, visits_where="no_such_column = 1")):
            pass
