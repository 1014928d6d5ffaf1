"""A/B statistics against hand computations, and the campaign results transform."""

import datetime as dt
import math

import pytest

from jobs.gold import campaign_results as cr
from tests.gold_frames import T, frame


def test_two_proportion_lift_interval_and_p_value_by_hand():
    # treatment 30/200, control 20/200
    got = cr.two_proportion(30, 200, 20, 200)
    lift = 0.15 - 0.10
    se = math.sqrt(0.15 * 0.85 / 200 + 0.10 * 0.90 / 200)          # 0.0329773
    pooled = 50 / 400
    z = lift / math.sqrt(pooled * (1 - pooled) * (2 / 200))          # 1.5119...
    assert got["lift"] == pytest.approx(0.05)
    assert got["ci_low"] == pytest.approx(lift - 1.959964 * se, abs=1e-6)
    assert got["ci_high"] == pytest.approx(0.05 + 1.959964 * 0.0329773, abs=1e-6)
    assert got["z"] == pytest.approx(z) and got["z"] == pytest.approx(1.51186, abs=1e-4)
    assert got["p_value"] == pytest.approx(0.13057, abs=1e-4)       # 2 * (1 - Phi(1.5119))


def test_two_proportion_edge_cases():
    assert cr.two_proportion(0, 50, 0, 50) == {"lift": 0.0, "ci_low": None, "ci_high": None, "z": 0.0, "p_value": 1.0}
    assert cr.two_proportion(1, 0, 1, 10)["p_value"] is None


@pytest.mark.parametrize("x, df, expected", [
    (3.841459, 1, 0.05), (5.991465, 2, 0.05), (7.814728, 3, 0.05), (9.487729, 4, 0.05),
    (11.070498, 5, 0.05), (10.827566, 1, 0.001), (0.0, 3, 1.0), (2.0, 2, math.exp(-1.0)),
])
def test_chi_square_tail_matches_tables(x, df, expected):
    assert cr.chi2_sf(x, df) == pytest.approx(expected, abs=1e-6)


def test_sample_ratio_check():
    stat, p = cr.sample_ratio([100, 100, 100])
    assert (stat, p) == (0.0, 1.0)
    stat, p = cr.sample_ratio([1000, 800])             # planned 50/50
    assert stat == pytest.approx((100 ** 2 + 100 ** 2) / 900)   # 22.2 against 900 each
    assert p < 0.001
    assert cr.sample_ratio([10]) == (None, None)
    assert cr.sample_ratio([90, 10], [0.9, 0.1])[1] == pytest.approx(1.0)


def test_campaign_results_from_events(spark):
    def ev(cid, arm, who, action, day=1):
        return {"event_id": f"{cid}{arm}{who}{action}", "campaign_id": cid, "variant": arm, "channel": "email",
                "customer_id": who, "action": action, "occurred_at": T(2026, 1, day, 9)}

    rows = []
    for i in range(10):                       # control: 10 sent, 9 delivered, 1 converted
        rows.append(ev("K", "control", f"c{i}", "sent"))
        if i < 9:
            rows.append(ev("K", "control", f"c{i}", "delivered"))
        if i == 0:
            rows += [ev("K", "control", f"c{i}", "opened"), ev("K", "control", f"c{i}", "converted")]
    for i in range(10):                       # A: 10 sent, all delivered, 4 opened, 2 clicked, 3 converted
        rows += [ev("K", "A", f"a{i}", "sent"), ev("K", "A", f"a{i}", "delivered")]
        if i < 4:
            rows.append(ev("K", "A", f"a{i}", "opened"))
        if i < 2:
            rows.append(ev("K", "A", f"a{i}", "clicked"))
        if i < 3:
            rows.append(ev("K", "A", f"a{i}", "converted", day=3))
    rows.append(ev("K", "A", "zz", "converted"))   # converted without a sent event: not a recipient
    rows.append(ev("K", "A", "a9", "converted", day=20))   # after the as-of date
    events = frame(spark, "silver.campaign_events", rows)
    arms = cr.arm_counts(events, dt.date(2026, 1, 10))
    got = {r.variant: r for r in cr.campaign_results(arms, dt.date(2026, 1, 10)).collect()}
    a, c = got["A"], got["control"]
    assert (c.recipients, c.delivered, c.converted, c.is_control, c.lift) == (10, 9, 1, True, None)
    assert (a.recipients, a.delivered, a.opened, a.clicked, a.converted) == (10, 10, 4, 2, 3)
    assert (a.open_rate, a.click_rate, a.conversion_rate, a.control_conversion_rate) == (0.4, 0.2, 0.3, 0.1)
    hand = cr.two_proportion(3, 10, 1, 10)
    assert (a.lift, a.lift_ci_low, a.p_value) == pytest.approx((0.2, hand["ci_low"], hand["p_value"]))
    assert a.relative_lift == pytest.approx(2.0)
    assert (a.srm_p_value, a.has_srm, a.planned_share) == (1.0, False, 0.5)
