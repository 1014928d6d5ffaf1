"""Incremental gold.customer_360 equals a full rebuild, on a tiny hand-made silver lake.

Between two runs silver changes the ways the pipeline changes it: a new order arrives, identity
merges one customer into another (rows re-attributed, the merged key leaves silver.customers),
a late event lands for a past day; and the as-of date moves so an old session leaves the 30-day
window. The incremental run must recompute only the customers those changes touch, give exactly
what a rebuild gives, and delete the merged-away customer; a re-run with nothing new rewrites nothing.
"""

import datetime as dt
from dataclasses import replace

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from jobs.common.contracts import table_schema
from jobs.common.tables import ensure_table, statistics_properties
from jobs.gold import customer_360 as c360
from tests.conftest import make_config
from tests.gold_frames import T, customer, frame, item, order_tps, tp

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 3)


def _append(spark, config, table, rows):
    """Append rows in one data file (per partition): a change to one customer then rewrites the
    other customers' rows too, which must not count as touching them."""
    path = ensure_table(spark, config, table_schema(table))
    frame(spark, table, rows).coalesce(1).write.format("delta").mode("append").save(path)
    return path


def _rows(spark, config, drop=("_gold_run_id",)):
    df = spark.read.format("delta").load(str(config.paths.table("gold.customer_360")))
    return {r.customer_key: {k: v for k, v in r.asDict(recursive=True).items() if k not in drop}
            for r in df.collect()}


def _run_ids(spark, config):
    df = spark.read.format("delta").load(str(config.paths.table("gold.customer_360")))
    return {r.customer_key: r._gold_run_id for r in df.collect()}


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    config = make_config(tmp_path_factory.mktemp("gold_incremental"))
    touchpoints = {
        "A": order_tps("A", "oa1", T(2026, 2, 1, 10), 100.0),
        "B": [tp("B", T(2026, 2, 20, 9), anonymous_id="db"), *order_tps("B", "ob1", T(2026, 2, 20, 9, 10), 50.0)],
        "C": [tp("C", T(2026, 2, 21, 9), anonymous_id="dc")],
        "D": [tp("D", T(2026, 2, 10, 9), anonymous_id="dd")],
        "E": [tp("E", T(2026, 1, 31, 9), anonymous_id="de"), tp("E", T(2026, 1, 31, 9, 5), anonymous_id="de")],
        "F": [tp("F", T(2026, 1, 5, 9), anonymous_id="df"), *order_tps("F", "of1", T(2026, 1, 5, 9), 70.0)],
    }
    homes = {"A": "h1", "F": "h1"}   # A and F live together
    _append(spark, config, "silver.customers", [customer(k, T(2026, 1, 1), f"C{k}", anonymous_id=1,
                                                         household=homes.get(k), birth_year=1980)
                                                 for k in touchpoints])
    _append(spark, config, "silver.touchpoints", [r for rows in touchpoints.values() for r in rows])
    _append(spark, config, "silver.order_items", [item("oa1", 0, "flight"), item("ob1", 0, "flight"),
                                                  item("ob1", 1, "extra_bag"), item("of1", 0, "flight")])
    _append(spark, config, "silver.calls", [
        {"call_id": "k1", "customer_key": "B", "started_at": T(2026, 2, 25, 10), "reason": "voucher", "csat": 4}])
    _append(spark, config, "silver.campaign_events", [
        {"event_id": "e1", "campaign_id": "K", "variant": "A", "customer_id": "CC", "customer_key": "C",
         "action": "sent", "occurred_at": T(2026, 2, 22, 7)}])
    _append(spark, config, "silver.consents", [
        {"consent_event_id": "x1", "customer_id": "CA", "customer_key": "A", "purpose": "marketing",
         "channel": "email", "status": "granted", "occurred_at": T(2026, 1, 2)}])

    first = c360.run(spark, config, run_id="run-1", logical_date=D1)
    before = _rows(spark, config)

    # What silver does between the two runs:
    _append(spark, config, "silver.touchpoints", [
        *order_tps("A", "oa2", T(2026, 3, 2, 10), 40.0),            # A buys again on D2 - 1
        tp("D", T(2026, 2, 11, 9), "app", "screen", anonymous_id="dd")])   # late event for a past day
    _append(spark, config, "silver.order_items", [item("oa2", 0, "flight"), item("oa2", 1, "extra_bag")])
    for table in ("silver.touchpoints", "silver.calls"):              # identity merges B into C
        DeltaTable.forPath(spark, str(config.paths.table(table))).update(
            F.col("customer_key") == "B", {"customer_key": F.lit("C")})
    DeltaTable.forPath(spark, str(config.paths.table("silver.customers"))).delete(F.col("customer_key") == "B")
    _append(spark, config, "silver.customers", [                    # G moves in with A and F
        customer("G", T(2026, 3, 2), "CG", anonymous_id=1, household="h1", birth_year=2005)])

    second = c360.run(spark, config, run_id="run-2", logical_date=D2)
    incremental = _rows(spark, config)
    again = c360.run(spark, config, run_id="run-3", logical_date=D2)
    run_ids = _run_ids(spark, config)
    rebuilt = c360.run(spark, config, run_id="run-4", logical_date=D2, full_rebuild=True)
    return config, first, before, second, incremental, run_ids, again, rebuilt, _rows(spark, config)


def test_first_run_is_a_full_build(lake):
    _, first, before, *_ = lake
    assert first.details["mode"] == "full"
    assert set(before) == set("ABCDEF")
    assert before["E"]["sessions_30d"] == 1                     # Jan 31 is inside Mar 1's 30 days


def test_incremental_recomputes_only_touched_customers(lake):
    _, _, _, second, incremental, run_ids, *_ = lake
    assert second.details["mode"] == "incremental"
    # A (new order), C (gained B's rows), D (late event), E (session left the window); B merged away;
    # G is new, and F shares its household. The merge rewrote files holding every customer's rows:
    # rows merely copied do not count.
    assert second.rows_in == 7                                  # touched keys: A, B, C, D, E, F, G
    assert "B" not in incremental and second.details["deleted"] == 1
    assert (second.details["updated"], second.details["inserted"]) == (5, 1)


def test_a_rerun_with_nothing_new_changes_nothing(lake):
    run_ids, again = lake[5], lake[6]
    assert (again.details["mode"], again.rows_in, again.rows_out, again.details["deleted"]) == ("incremental", 0, 0, 0)
    assert set(run_ids.values()) == {"run-2"}                   # no row rewritten by run-3


def test_incremental_values_follow_the_changes(lake):
    _, _, before, _, incremental, *_ = lake
    a, c, d, e = (incremental[k] for k in "ACDE")
    assert (a["completed_orders"], a["rfm_frequency"], a["rfm_t_days"], a["extra_bag_share"]) == (2, 1, 30, 0.5)
    assert (c["completed_orders"], c["calls_30d"], c["sessions_30d"]) == (1, 1, 2)   # B's order, call, session
    assert d["page_views_30d"] == before["D"]["page_views_30d"] + 1
    assert e["sessions_30d"] == 0
    assert incremental["F"]["as_of_date"] == D2 and incremental["F"]["rfm_t_days"] == 57
    assert before["F"]["household_size"] == 2 and before["C"]["household_size"] is None
    assert (incremental["F"]["household_size"], incremental["F"]["household_youngest_birth_year"]) == (3, 2005)


def test_incremental_equals_full_rebuild(lake):
    *_, incremental, _, again, rebuilt, after_rebuild = lake
    assert rebuilt.details["mode"] == "full"
    assert after_rebuild == incremental
    assert rebuilt.rows_out == 0                                # nothing left to change


def test_segment_history_and_watermarks(spark, lake):
    config = lake[0]
    ops = spark.read.format("delta").load(str(config.paths.table("ops.job_watermarks")))
    marks = ops.where(F.col("job") == c360.JOB).select("input_table").distinct().collect()
    assert {r.input_table for r in marks} == set(c360.INPUTS)
    history = spark.read.format("delta").load(str(config.paths.table("gold.segment_membership")))
    repeat = {(r.customer_key, r.valid_from_date, r.valid_to_date) for r in
              history.where(F.col("segment") == "repeat_buyers").collect()}
    assert repeat == {("A", D2, None)}                          # A became a repeat buyer on D2


def test_gold_runs_when_only_some_sources_are_enabled(spark, tmp_path):
    """Only events enabled: identity still writes customers and touchpoints; the tables of the
    other sources may not exist, and every gold job must still run (they contribute nothing)."""
    from jobs.runner import run_stage

    config = make_config(tmp_path)
    _append(spark, config, "silver.customers", [customer("A", T(2026, 1, 1), None, anonymous_id=1)])
    _append(spark, config, "silver.touchpoints", [tp("A", T(2026, 2, 1, 9), anonymous_id="d1")])
    results = {r.job: r for r in run_stage(spark, config, "gold", run_id="only-events", logical_date=D1)}
    assert results["gold_customer_360"].rows_out == 1
    row = spark.read.format("delta").load(str(config.paths.table("gold.customer_360"))).first()
    assert (row.customer_key, row.sessions_30d, row.calls_30d, row.orders_count) == ("A", 1, 0, 0)
    assert results["gold_campaign_results"].rows_out == 0


def test_a_column_declared_since_the_last_run_is_added_with_its_values(spark, lake):
    """The table as it was before `extra_bag_share` was declared: the next run recomputes everyone
    and its MERGE adds the column in the same commit as the values (README "Adding a gold column")."""
    config, after_rebuild = lake[0], lake[-1]
    path = str(config.paths.table("gold.customer_360"))
    # Created then, the table kept file statistics for the columns declared then.
    schema = table_schema("gold.customer_360")
    then = replace(schema, columns=tuple(c for c in schema.columns if c.name != "extra_bag_share"))
    settings = ", ".join(f"'{k}' = '{v}'" for k, v in statistics_properties(then).items())
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({settings})")
    (spark.read.format("delta").load(path).drop("extra_bag_share")
     .write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path))
    older = DeltaTable.forPath(spark, path).history(1).first().version

    added = c360.run(spark, config, run_id="run-5", logical_date=D2)
    assert (added.details["mode"], added.details["updated"]) == ("full", len(after_rebuild))
    assert _rows(spark, config) == after_rebuild
    assert DeltaTable.forPath(spark, path).history(1).first().version == older + 1   # one commit
