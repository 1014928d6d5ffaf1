"""gold.service_alerts' pure parts on planted travellers: who departs within the horizon, which
problems count (unresolved complaints, low ratings, lost orders, in the lookback window only),
and the facts and summary staff see."""

import json

import pytest

from jobs.common.errors import ConfigError
from jobs.gold.service_alerts import open_problems, service_alerts, upcoming_departures
from jobs.gold.settings import AlertSettings, alert_settings
from tests.gold_frames import D, T, frame

AS_OF = D(2026, 3, 10)
ORDERED = T(2026, 3, 1)
SETTINGS = AlertSettings(horizon_days=7, lookback_days=30, complaint_reasons=("lost_bag", "refund_request"),
                         low_csat=2)


def _order(order_id, key, status="completed", ordered=ORDERED, status_at=None):
    return {"order_id": order_id, "customer_key": key, "status": status, "ordered_at": ordered,
            "status_at": status_at or ordered, "currency": "EUR"}


def _flight(order_id, departure, origin="CDG", destination="JFK"):
    attributes = json.dumps({"origin": origin, "destination": destination, "departure_date": departure,
                             "cabin": "economy"})
    return {"order_id": order_id, "item_index": 0, "category": "flight", "attributes": attributes,
            "status_at": T(2026, 3, 1)}


def _call(call_id, key, at, reason, outcome="escalated", csat=None):
    return {"call_id": call_id, "customer_key": key, "started_at": at, "reason": reason, "outcome": outcome,
            "csat": csat}


def _alerts(spark, orders, items, calls):
    orders, items, calls = (frame(spark, "silver.orders", orders), frame(spark, "silver.order_items", items),
                            frame(spark, "silver.calls", calls))
    departures = upcoming_departures(orders, items, AS_OF, SETTINGS.horizon_days)
    problems = open_problems(orders, calls, AS_OF, SETTINGS)
    return {r["order_id"]: r for r in service_alerts(departures, problems, AS_OF).collect()}


def test_a_traveller_departing_soon_with_an_unresolved_complaint_is_alerted(spark):
    rows = _alerts(spark,
                   [_order("o1", "A"), _order("o2", "B"), _order("o3", "C"), _order("o4", "D")],
                   [_flight("o1", "2026-03-14"), _flight("o2", "2026-03-12"), _flight("o3", "2026-03-20"),
                    _flight("o4", "2026-03-11")],
                   [_call("c1", "A", T(2026, 3, 8, 9), "lost_bag", "escalated", 1),
                    _call("c2", "B", T(2026, 3, 8, 9), "lost_bag", "resolved", 4),    # resolved, rated well
                    _call("c3", "C", T(2026, 3, 8, 9), "lost_bag"),                   # departs after the horizon
                    _call("c4", "D", T(2026, 2, 1, 9), "refund_request")])            # before the lookback
    assert set(rows) == {"o1"}
    a = rows["o1"]
    assert (a.customer_key, str(a.departure_date), a.days_to_departure, a.origin, a.destination) == \
        ("A", "2026-03-14", 4, "CDG", "JFK")
    assert a.problems == ["complaint_call", "low_csat_call"] and a.problem_count == 2
    assert (a.last_problem_call_reason, a.last_problem_call_outcome, a.last_problem_call_csat) == \
        ("lost_bag", "escalated", 1)
    assert a.summary == "called 2026-03-08 about lost_bag (escalated, CSAT 1)"


def test_a_cancelled_order_or_a_low_rating_is_a_problem_and_a_cancelled_flight_is_no_departure(spark):
    rows = _alerts(spark,
                   [_order("o1", "A"), _order("gone", "A", "refunded", T(2026, 2, 20), T(2026, 3, 5)),
                    _order("o2", "B"), _order("o3", "C", "cancelled", T(2026, 3, 1), T(2026, 3, 9))],
                   [_flight("o1", "2026-03-10"), _flight("gone", "2026-03-12"), _flight("o2", "2026-03-17"),
                    _flight("o3", "2026-03-12")],
                   [_call("c1", "B", T(2026, 3, 9, 9), "seat_change", "resolved", 2)])
    assert set(rows) == {"o1", "o2"}            # C's only flight is cancelled: nothing to brief
    assert rows["o1"].problems == ["refunded_order"] and rows["o1"].days_to_departure == 0
    assert rows["o1"].summary == "an order cancelled or refunded on 2026-03-05"
    assert rows["o2"].problems == ["low_csat_call"] and rows["o2"].days_to_departure == 7


def test_alert_settings_are_checked_with_the_key_named():
    assert alert_settings(None) == AlertSettings()
    assert alert_settings({"horizon_days": 3}).horizon_days == 3
    with pytest.raises(ConfigError, match=r"gold\.service_alerts\.low_csat'.*got 9; allowed: an integer in \[1, 5\]"):
        alert_settings({"low_csat": 9})
    with pytest.raises(ConfigError, match=r"gold\.service_alerts\.horizon'.*unknown key"):
        alert_settings({"horizon": 3})
