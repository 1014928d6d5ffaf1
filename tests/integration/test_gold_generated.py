"""Gold over generated data, end to end: landing -> bronze -> silver -> identity -> gold (the
registry's gold stage), checked against values recomputed independently in plain Python from
silver (read with delta-rs, no Spark), against the generator's A/B truth, through the JVM-free
path and the SQL shell, and by executing the tour notebook."""

import datetime as dt
import io
import json
import math
from collections import defaultdict
from contextlib import redirect_stdout

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from jobs import registry
from jobs.common.config import PROJECT_ROOT
from jobs.gold import access, fast
from jobs.gold import customer_360 as c360
from jobs.gold.settings import gold_settings
from tests.integration.conftest import END


@pytest.fixture(scope="module")
def lake(generated_gold_lake):
    return generated_gold_lake


def _silver(config, table):
    """Rows of a silver table as dicts, through delta-rs: no Spark involved."""
    return DeltaTable(str(config.paths.table(table))).to_pyarrow_table().to_pylist()


def _gold(spark, config, table="gold.customer_360"):
    return spark.read.format("delta").load(str(config.paths.table(table)))


def _btyd(purchases: list[tuple[dt.date, float]], as_of: dt.date) -> tuple[int, int, int, float]:
    """frequency, recency, T, monetary by the book (lifetimes' summary_data_from_transaction_data, freq D)."""
    per_day = defaultdict(float)
    for day, amount in purchases:
        per_day[day] += amount
    days = sorted(per_day)
    frequency = len(days) - 1
    monetary = sum(per_day[d] for d in days[1:]) / frequency if frequency else 0.0
    return frequency, (days[-1] - days[0]).days, (as_of - days[0]).days, round(monetary, 2)


def test_the_gold_stage_runs_every_gold_job(lake):
    _, results = lake
    assert registry.STAGES.index("gold") > registry.STAGES.index("identity")
    assert set(results) == {j.name for j in registry.jobs_in_stages(("gold", "gold_gate"))}
    assert results["gold_customer_360"].details["mode"] == "full"


def test_customer_360_matches_an_independent_recomputation(spark, lake):
    config, _ = lake
    fx = gold_settings(config).fx_to_eur
    gold = {r.customer_key: r for r in _gold(spark, config).collect()}
    customers = {r["customer_key"] for r in _silver(config, "silver.customers")}
    assert set(gold) == customers and len(gold) > 50

    cut = dt.datetime.combine(END + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)   # as of END
    orders = defaultdict(list)
    for o in _silver(config, "silver.orders"):
        if o["customer_key"] is not None and o["ordered_at"] < cut:
            # silver.orders keeps the latest status; one reached after END was still completed on END
            orders[o["customer_key"]].append({**o, "status": o["status"] if o["status_at"] < cut else "completed"})
    calls = defaultdict(list)
    for c in _silver(config, "silver.calls"):
        if c["started_at"] < cut:
            calls[c["customer_key"]].append(c)
    sends = defaultdict(int)
    for e in _silver(config, "silver.campaign_events"):
        if e["action"] == "sent" and END - dt.timedelta(days=90) < e["occurred_at"].date() <= END:
            sends[e["customer_key"]] += 1
    consent, later = defaultdict(dict), set()
    for c in _silver(config, "silver.consent_current"):
        if c["occurred_at"] >= cut:          # the choice on END is an earlier one: not in this table
            later.add(c["customer_key"])
            continue
        key = (c["purpose"], c["channel"])
        latest = consent[c["customer_key"]].get(key)
        if latest is None or c["occurred_at"] > latest[0]:
            consent[c["customer_key"]][key] = (c["occurred_at"], c["is_granted"])

    checked_rfm = 0
    for key, row in gold.items():
        mine = orders.get(key, [])
        done = [o for o in mine if o["status"] == "completed"]
        eur = [round(o["total_amount"] * fx[o["currency"]], 2) for o in done]
        assert row.orders_count == len(mine), key
        assert row.completed_orders == len(done), key
        assert row.refunds_count == sum(o["status"] == "refunded" for o in mine), key
        assert row.revenue_eur == pytest.approx(sum(eur), abs=0.01), key
        if done:
            purchases = [(o["ordered_at"].date(), e) for o, e in zip(done, eur, strict=True)]
            got = (row.rfm_frequency, row.rfm_recency_days, row.rfm_t_days, row.rfm_monetary_eur)
            expected = _btyd(purchases, END)
            assert got[:3] == expected[:3] and got[3] == pytest.approx(expected[3], abs=0.011), key
            checked_rfm += expected[0] > 0
        else:
            assert (row.is_buyer, row.rfm_frequency, row.rfm_monetary_eur) == (False, None, None), key
        recent = [c for c in calls.get(key, []) if c["started_at"].date() > END - dt.timedelta(days=30)]
        assert row.calls_30d == len(recent), key
        assert row.campaign_sends_90d == sends.get(key, 0), key
        if key not in later:
            granted = consent.get(key, {})
            assert row.consent_marketing_email == granted.get(("marketing", "email"), (None, False))[1], key
    assert checked_rfm > 5            # enough repeat buyers for the RFM comparison to mean something


def test_campaign_results_recover_the_planted_truth(spark, lake):
    config, _ = lake
    truth = json.loads((config.paths.truth / "campaigns.json").read_text())
    rows = {(r.campaign_id, r.variant): r for r in _gold(spark, config, "gold.campaign_results").collect()}
    by_id = {c["campaign_id"]: c for c in truth["campaigns"]}
    for cid, campaign in by_id.items():
        for arm, t in campaign["arms"].items():
            if t["recipients"] == 0:
                continue
            got = rows[(cid, arm)]
            assert (got.recipients, got.converted) == (t["recipients"], t["converted"]), (cid, arm)
            assert got.has_srm is not True, (cid, arm)      # arms are assigned at random
    planted = by_id[truth["planted_effect_campaign"]]
    for arm, t in planted["arms"].items():
        if arm != "control":
            got = rows[(planted["campaign_id"], arm)]
            assert got.lift_ci_low <= t["planted_lift_vs_control"] <= got.lift_ci_high, arm
            assert got.lift == pytest.approx(t["observed_conversion_rate"]
                                             - planted["arms"]["control"]["observed_conversion_rate"], abs=1e-3)
    null = by_id[truth["null_campaign"]]
    for arm in null["arms"]:
        if arm != "control":
            assert rows[(null["campaign_id"], arm)].is_significant is False, arm


def test_service_alerts_match_an_independent_recomputation(spark, lake):
    """Departing within the horizon (live orders' flights) and a problem in the lookback window,
    recomputed in plain Python from silver."""
    config, _ = lake
    settings = gold_settings(config).service_alerts
    start, end = END - dt.timedelta(days=settings.lookback_days - 1), END + dt.timedelta(days=settings.horizon_days)
    orders = {o["order_id"]: o for o in _silver(config, "silver.orders") if o["customer_key"]}
    problems = defaultdict(set)
    for c in _silver(config, "silver.calls"):
        if c["customer_key"] and start <= c["started_at"].date() <= END:
            if c["reason"] in settings.complaint_reasons and c["outcome"] != "resolved":
                problems[c["customer_key"]].add("complaint_call")
            if c["csat"] is not None and c["csat"] <= settings.low_csat:
                problems[c["customer_key"]].add("low_csat_call")
    for o in orders.values():
        if o["status"] in ("cancelled", "refunded") and start <= o["status_at"].date() <= END:
            problems[o["customer_key"]].add(f"{o['status']}_order")
    expected = {}
    for item in _silver(config, "silver.order_items"):
        order = orders.get(item["order_id"])
        if item["category"] != "flight" or order is None or order["status"] in ("cancelled", "refunded"):
            continue
        departure = dt.date.fromisoformat(json.loads(item["attributes"])["departure_date"])
        if END <= departure <= end and order["ordered_at"].date() <= END and problems[order["customer_key"]]:
            expected[item["order_id"]] = (order["customer_key"], departure, sorted(problems[order["customer_key"]]))
    got = {r.order_id: (r.customer_key, r.departure_date, list(r.problems))
           for r in _gold(spark, config, "gold.service_alerts").collect()}
    assert got == expected and got      # six days of data: a handful of alerts


def test_segments_are_evaluated_and_recorded(spark, lake):
    config, _ = lake
    c360_rows = _gold(spark, config)
    members = c360_rows.select(F.explode("segments").alias("segment")).groupBy("segment").count()
    history = (_gold(spark, config, "gold.segment_membership").where("is_current")
               .groupBy("segment").count())
    assert {tuple(r) for r in members.collect()} == {tuple(r) for r in history.collect()}
    repeat = c360_rows.where(F.array_contains("segments", "repeat_buyers")).count()
    assert repeat == c360_rows.where("rfm_frequency >= 1").count() > 0


def test_fast_path_reads_the_tables_the_pipeline_wrote(spark, lake):
    config, _ = lake
    lake_dir = config.paths.lake
    names = set(access.analyst_tables(lake_dir))
    assert {"gold.customer_360", "gold.campaign_results", "gold.segment_membership", "silver.touchpoints"} <= names
    assert "silver.customer_pii" not in names and not any(n.startswith(("bronze.", "ops.")) for n in names)
    got = fast.query("SELECT count(*) AS n, sum(revenue_eur) AS revenue, sum(len(segments)) AS memberships, "
                     "count(last_touch_at['web']) AS web FROM gold.customer_360", lake_dir).iloc[0]
    spark_side = _gold(spark, config).agg(
        F.count(F.lit(1)).alias("n"), F.sum("revenue_eur").alias("revenue"),
        F.sum(F.size("segments")).alias("memberships"),
        F.count(F.try_element_at("last_touch_at", F.lit("web"))).alias("web")).first()
    assert int(got["n"]) == spark_side.n and int(got["memberships"]) == spark_side.memberships
    assert math.isclose(got["revenue"], spark_side.revenue, rel_tol=1e-9) and int(got["web"]) == spark_side.web
    for sql in ("SELECT * FROM silver.customer_pii", "SELECT * FROM bronze.crm",
                f"SELECT * FROM delta_scan('{lake_dir}/silver/customer_pii')"):
        with pytest.raises(access.AccessError):
            fast.query(sql, lake_dir)


def test_sql_shell_serves_analyst_tables_only(spark, lake):
    config, _ = lake
    out = io.StringIO()
    with redirect_stdout(out):
        access.shell(spark, config, "SELECT count(*) AS customers FROM gold.customer_360")
    assert f"{_gold(spark, config).count()}" in out.getvalue()
    shown = {r.tableName for r in spark.sql("SHOW TABLES IN silver").collect()}
    assert "customer_pii" not in shown and "touchpoints" in shown
    with pytest.raises(access.AccessError, match="restricted"):
        access.run_statement(spark, config, "select email from silver . customer_pii")


def test_tour_notebook_runs_on_this_lake(lake, tmp_path):
    from jobs.gold.notebooks import execute

    config, _ = lake
    nb = execute(PROJECT_ROOT / "notebooks" / "customer_360_tour.ipynb", lake=config.paths.lake, output_dir=tmp_path)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    assert (tmp_path / "customer_360_tour.ipynb").is_file()


def test_moving_the_as_of_date_incrementally_equals_a_rebuild(spark, lake):
    config, _ = lake
    later = END + dt.timedelta(days=3)

    def snapshot():
        return sorted((r.asDict(recursive=True) for r in _gold(spark, config).drop("_gold_run_id").collect()),
                      key=lambda r: r["customer_key"])

    moved = c360.run(spark, config, run_id="gold-2", logical_date=later)
    incremental = snapshot()
    rebuilt = c360.run(spark, config, run_id="gold-3", logical_date=later, full_rebuild=True)
    assert moved.details["mode"] == "incremental" and 0 < moved.rows_in < len(incremental)
    assert rebuilt.details["mode"] == "full" and rebuilt.rows_out == 0
    assert snapshot() == incremental
