"""Models' pure parts: point-in-time features (no future leaks in), labels from the horizon,
cutoff plans, model files checked on load, the champion rule, holdout metrics."""

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from chispa import assert_df_equality

from jobs.gold.customer_360 import Silver
from jobs.gold.settings import GoldSettings
from jobs.models import evaluation
from jobs.models.features import customer_features
from jobs.models.spec import ModelSpecError, load_spec, load_specs, validate_specs
from jobs.models.targets import Target, with_labels
from jobs.models.tracking import decide
from jobs.models.training import ModelRefused, check_signal, feature_schemas, plan_cutoffs
from tests.gold_frames import D, T, customer, frame, item, order_tps, tp

SETTINGS = GoldSettings(segments_file=Path("segments/segments.yaml"), fx_to_eur={"EUR": 1.0})
CUTOFF = D(2026, 3, 10)
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def _silver(spark, touchpoints, items, calls=(), campaigns=(), consents=(), newcomers=()) -> Silver:
    customers = [customer("A", crm_id="C1", household="h1", birth_year=1980),
                 customer("B", crm_id="C2", household="h1", birth_year=1982, work_email=True), *newcomers]
    return Silver(frame(spark, "silver.customers", customers), frame(spark, "silver.touchpoints", touchpoints),
                  frame(spark, "silver.order_items", items), frame(spark, "silver.calls", list(calls)),
                  frame(spark, "silver.campaign_events", list(campaigns)), frame(spark, "silver.consents", list(consents)))


def _history():
    tps = (order_tps("A", "o1", T(2026, 3, 1, 10), 120.0) + order_tps("B", "o2", T(2026, 3, 2, 10), 80.0)
           + [tp("A", T(2026, 3, 9, 8)), tp("B", T(2026, 3, 10, 23, 59))])
    items = [item("o1", 0, "flight", quantity=3, attributes={"passengers": {"adult": 2, "child": 1}}),
             item("o1", 1, "extra_bag"), item("o2", 0, "flight", attributes={"passengers": {"adult": 1, "child": 0}})]
    return tps, items


def _future():
    """Everything of A's that happens after the cutoff day: an order with a bag, a visit, a call,
    a campaign conversion, a consent change, a refund of the order placed before the cutoff, and
    a newcomer to A's household."""
    tps = (order_tps("A", "o9", T(2026, 3, 11, 0, 0), 300.0) + [tp("A", T(2026, 3, 12, 9))]
           + [tp("A", T(2026, 3, 11, 1), "web", "order", "refunded", "orders", order_id="o1", amount=120.0,
                 currency="EUR", touchpoint_id="orders:o1:refunded")])
    items = [item("o9", 0, "flight", quantity=5, attributes={"passengers": {"adult": 2, "child": 3}}),
             item("o9", 1, "extra_bag"), item("o9", 2, "insurance")]
    calls = [{"call_id": "k1", "customer_key": "A", "started_at": T(2026, 3, 11, 10), "reason": "complaint",
              "csat": 1}]
    campaigns = [{"event_id": "e1", "campaign_id": "c", "customer_key": "A", "occurred_at": T(2026, 3, 11, 12),
                  "action": "converted", "channel": "email"}]
    consents = [{"consent_event_id": "x1", "customer_key": "A", "purpose": "marketing", "channel": "email",
                 "status": "granted", "occurred_at": T(2026, 3, 11, 12)}]
    newcomers = [customer("N", T(2026, 3, 11, 8), "C9", household="h1", birth_year=2008)]
    return tps, items, calls, campaigns, consents, newcomers


def test_a_future_event_cannot_reach_a_feature(spark):
    tps, items = _history()
    f_tps, f_items, calls, campaigns, consents, newcomers = _future()
    past = _silver(spark, tps, items)
    with_future = _silver(spark, tps + f_tps, items + f_items, calls, campaigns, consents, newcomers)
    before = customer_features(past, CUTOFF, SETTINGS)
    after = customer_features(with_future, CUTOFF, SETTINGS)
    assert before.count() == 2
    assert {(r.household_size, r.household_youngest_age) for r in before.collect()} == {(2, 44)}
    assert_df_equality(before, after, ignore_row_order=True, ignore_nullable=True)
    # ...while the future does reach the label of the horizon after the cutoff
    target = Target("purchase", "extra_bag")
    labels = {r.customer_key: r.label for r in with_labels(after, with_future, target, CUTOFF, 7, SETTINGS).collect()}
    assert labels == {"A": 1, "B": 0}
    none = {r.customer_key: r.label for r in with_labels(before, past, target, CUTOFF, 7, SETTINGS).collect()}
    assert none == {"A": 0, "B": 0}


def test_features_count_each_category_and_what_happened_when(spark):
    tps, items = _history()
    rows = {r.customer_key: r for r in customer_features(_silver(spark, tps, items), CUTOFF, SETTINGS).collect()}
    a, b = rows["A"], rows["B"]
    assert (a.orders_with_extra_bag, a.extra_bag_order_share, a.orders_with_flight) == (1, 1.0, 1)
    assert (b.orders_with_extra_bag, b.extra_bag_order_share, b.orders_with_insurance) == (0, 0.0, 0)
    assert (a.days_since_last_order, a.days_since_last_seen) == (9, 1)
    assert (b.days_since_last_seen, a.tier_rank, a.cutoff_date) == (0, 0, CUTOFF)


def test_children_on_the_household_bookings_reach_a_parent_who_flies_alone(spark):
    tps, items = _history()
    rows = {r.customer_key: r for r in customer_features(_silver(spark, tps, items), CUTOFF, SETTINGS).collect()}
    a, b = rows["A"], rows["B"]
    assert (a.max_children, a.child_flight_share, a.household_max_children, a.has_work_email) == (1, 1.0, 1, None)
    assert (b.max_children, b.child_flight_share, b.household_max_children, b.has_work_email) == (0, 0.0, 1, True)


def test_labels_come_from_the_horizon_only(spark):
    tps = (order_tps("A", "in", T(2026, 3, 12, 9), 10.0)                                   # in the horizon
           + order_tps("B", "late", T(2026, 3, 18, 9), 10.0)                               # after a 7-day horizon
           + order_tps("B", "undone", T(2026, 3, 11, 9), 10.0, [("cancelled", T(2026, 3, 13))])
           + [tp("A", T(2026, 3, 1)), tp("B", T(2026, 3, 1))])
    items = [item("in", 0, "seat", "window"), item("late", 0, "seat", "aisle"), item("undone", 0, "seat")]
    silver = _silver(spark, tps, items)
    features = customer_features(silver, CUTOFF, SETTINGS)

    def labels(target):
        return {r.customer_key: r.label for r in with_labels(features, silver, target, CUTOFF, 7, SETTINGS).collect()}

    assert labels(Target("purchase", "seat")) == {"A": 1, "B": 0}   # cancelled inside the horizon: no purchase
    assert labels(Target("attach", "seat")) == {"A": 1}             # B completed no order in the horizon: out of scope
    assert labels(Target("attach", "extra_bag")) == {"A": 0}        # A booked without one
    assert labels(Target("churn")) == {"A": 0, "B": 0}              # both ordered in the horizon
    campaigns = [{"event_id": "s1", "campaign_id": "c", "customer_key": "A", "occurred_at": T(2026, 3, 11),
                  "action": "sent"},
                 {"event_id": "v1", "campaign_id": "c", "customer_key": "A", "occurred_at": T(2026, 3, 12),
                  "action": "converted"}]
    silver = _silver(spark, [tp("A", T(2026, 3, 1)), tp("B", T(2026, 3, 1))], [], campaigns=campaigns)
    features = customer_features(silver, CUTOFF, SETTINGS)
    got = {r.customer_key: r.label for r in
           with_labels(features, silver, Target("campaign_response"), CUTOFF, 7, SETTINGS).collect()}
    assert got == {"A": 1}                                           # B was sent nothing: out of scope
    got = {r.customer_key: r.label for r in with_labels(features, silver, Target("churn"), CUTOFF, 7, SETTINGS).collect()}
    assert got == {"A": 1, "B": 1}                                   # campaign events are not the customer's activity


def test_training_cutoffs_end_their_horizons_before_the_holdout():
    spec = load_spec(MODELS_DIR / "extra_bag.yaml")
    plan = plan_cutoffs(spec, D(2026, 11, 21))
    assert plan.holdout == D(2026, 11, 21) - dt.timedelta(days=spec.horizon_days)
    assert len(plan.training) == spec.cutoffs and list(plan.training) == sorted(plan.training)
    assert all(c + dt.timedelta(days=spec.horizon_days) <= plan.holdout for c in plan.training)
    assert plan_cutoffs(spec, D(2026, 11, 21), first_day=plan.training[-1]).training == plan.training[-1:]


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def schema(spark, tmp_path_factory):
    """The feature frames' schemas with the default categories (built once: planning takes seconds)."""
    from tests.conftest import make_config

    return feature_schemas(spark, make_config(tmp_path_factory.mktemp("models")), ())


GOOD = """\
name: bag
description: d
target: {kind: purchase, category: extra_bag}
horizon_days: 7
features: [orders_with_extra_bag, preferred_seat]
algorithm: {name: gbt, params: {maxDepth: 3}}
"""


@pytest.mark.parametrize("change, message", [
    (("target: {kind: purchase, category: extra_bag}", "target: {kind: purchas, category: extra_bag}"),
     "key 'target.kind' names unknown target 'purchas'; close matches: purchase"),
    (("name: gbt", "name: gtb"), "key 'algorithm.name' names unknown algorithm 'gtb'; close matches: gbt"),
    (("horizon_days: 7", "horizon_day: 7"), "unknown key 'horizon_day'; close matches: horizon_days"),
    (("target: {kind: purchase, category: extra_bag}", "target: {kind: churn, category: extra_bag}"),
     "key 'target.category' is required for a purchase or attach target and only for those"),
])
def test_a_malformed_model_file_names_the_file_the_key_and_close_matches(tmp_path, change, message):
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ModelSpecError) as err:
        load_spec(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("change, message", [
    (("orders_with_extra_bag,", "orders_with_extra_bags,"),
     "key 'features' names an unknown feature 'orders_with_extra_bags'; close matches: orders_with_extra_bag"),
    (("preferred_seat]", "channels_used]"), "key 'features' is not a number, flag or category 'channels_used'"),
    (("maxDepth: 3", "maxDepht: 3"), "names unknown parameter 'maxDepht' of gbt; close matches: maxDepth"),
    (("horizon_days: 7", "horizon_days: 7\neligibility: days_since_last_sen < 30"),
     "key 'eligibility' names unknown feature 'days_since_last_sen'; close matches: days_since_last_seen"),
    (("horizon_days: 7", "horizon_days: 7\neligibility: completed_orders"), "gives bigint, not a boolean"),
    # a visitor model reads browsing alone: a customer feature is unknown to it
    (("target: {kind: purchase, category: extra_bag}", "target: {kind: visitor_conversion}"),
     "key 'features' names an unknown feature 'orders_with_extra_bag'"),
])
def test_unknown_features_params_and_conditions_stop_with_close_matches(spark, schema, tmp_path, change, message):
    spec = load_spec(_write(tmp_path, GOOD.replace(*change)))
    with pytest.raises(ModelSpecError) as err:
        validate_specs(spark, (spec,), schema)
    assert message in str(err.value)


def test_the_shipped_model_files_are_valid_and_a_new_category_is_a_yaml_change(spark, config, tmp_path):
    specs = load_specs(MODELS_DIR)
    validate_specs(spark, specs, feature_schemas(spark, config, specs))
    assert {s.target.kind for s in specs} >= {"purchase", "churn", "campaign_response", "visitor_conversion"}
    lounge = load_spec(_write(tmp_path, GOOD.replace("extra_bag", "lounge_access")))
    schemas = feature_schemas(spark, config, (lounge,))
    validate_specs(spark, (lounge,), schemas)   # its history feature exists because its target names it
    assert "lounge_access_order_share" in schemas["customers"].fieldNames()


def test_a_new_version_takes_the_champion_alias_only_by_the_margin():
    assert decide(0.70, None, None, 0.01).promote
    assert not decide(0.705, 0.70, "1", 0.01).promote
    assert not decide(0.70, 0.70, "1", 0.0).promote            # equal is not better
    better = decide(0.72, 0.70, "1", 0.01)
    assert better.promote and "v1" in better.reason and better.champion_auc == 0.70


def test_a_model_about_as_good_as_chance_is_refused_with_the_setting_named(tmp_path):
    from jobs.common.errors import ConfigError
    from jobs.models.settings import model_settings
    from tests.conftest import make_config

    spec = load_spec(_write(tmp_path, GOOD))
    check_signal(spec, 0.56, 0.55, dt.date(2026, 11, 1))
    with pytest.raises(ModelRefused, match=r"ROC AUC is 0.4876, below models.min_roc_auc = 0.55.*champion.*stays"):
        check_signal(spec, 0.4876, 0.55, dt.date(2026, 11, 1))
    assert model_settings(make_config(tmp_path)).min_roc_auc == 0.55
    with pytest.raises(ConfigError, match="models.min_roc_auc"):
        model_settings(make_config(tmp_path, **{"models.min_roc_auc": 0.4}))


def test_holdout_metrics_on_a_hand_checked_example():
    labels = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.2])
    m = evaluation.metrics(labels, scores)
    assert m["roc_auc"] == pytest.approx(5 / 6)         # 6 positive-negative pairs, one inverted
    assert m["pr_auc"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert m["brier"] == pytest.approx(np.mean((scores - labels) ** 2))
    table = evaluation.deciles(labels, scores, n=5)
    assert [d.positives for d in table] == [1, 0, 1, 0, 0] and table[-1].cumulative_gain == 1.0
    assert table[0].lift == pytest.approx(1 / 0.4)


def test_customers_meet_their_planted_truth_through_crm_ids_only_when_unambiguous():
    import pandas as pd

    from jobs.models.evaluate import persons_of_customers

    people = pd.DataFrame({"person_id": ["P1", "P2", "P3"], "crm_id": ["C1", "C2", None],
                           "duplicate_crm_id": ["C9", None, None]})
    customers = pd.DataFrame({"customer_key": ["k1", "k2", "k3", "k4"],
                              "customer_ids": [["C1", "C9"], ["C1", "C2"], None, ["C2"]]})
    got = persons_of_customers(customers, people)
    # k1: both ids are P1's; k2 spans two persons (over-merge): out; k3 has no CRM id: out
    assert sorted(map(tuple, got.to_numpy())) == [("k1", "P1"), ("k4", "P2")]


def test_a_missing_or_nan_score_stops_scoring_naming_the_model(spark):
    from jobs.common.errors import JobError
    from jobs.models.score import checked_count

    ok = spark.createDataFrame([("a", 0.2), ("b", 0.9)], "customer_key string, score double")
    assert checked_count(ok, "churn_risk") == 2
    bad = spark.createDataFrame([("a", 0.2), ("b", float("nan")), ("c", None)], "customer_key string, score double")
    with pytest.raises(JobError, match=r"model 'clv' gave no score for 2 of 3 customers .*make train"):
        checked_count(bad, "clv")
