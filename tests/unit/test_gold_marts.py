"""Marts' pure parts: journeys across channels and per day x channel KPIs."""

from jobs.gold.marts import channel_daily_kpis, customer_journeys
from tests.gold_frames import D, T, frame, order_tps, tp

AS_OF = D(2026, 1, 31)


def test_journeys_cut_after_a_day_of_silence_and_collapse_repeats(spark):
    rows = [tp("A", T(2026, 1, 10, 9), "web"), tp("A", T(2026, 1, 10, 9, 5), "web"),
            tp("A", T(2026, 1, 10, 15), "call_center", "call", "new_booking", "call_center"),
            *order_tps("A", "o1", T(2026, 1, 10, 18), 90.0, channel="web"),
            tp("A", T(2026, 1, 10, 12), "email", "campaign", "sent", "campaigns"),      # not a customer step
            tp("A", T(2026, 1, 12, 9), "app", "screen"),                                # 39 h later: new journey
            tp("A", T(2026, 1, 12, 10), "email", "campaign", "clicked", "campaigns"),
            tp(None, T(2026, 1, 12, 9), "web")]                                          # unresolved: no journey
    got = customer_journeys(frame(spark, "silver.touchpoints", rows), AS_OF).orderBy("started_at").collect()
    assert [(r.channel_sequence, r.touchpoints, r.is_converted, r.converting_channel) for r in got] == [
        (["web", "call_center", "web"], 4, True, "web"), (["app", "email"], 2, False, None)]
    assert (got[0].duration_minutes, got[0].channel_count, got[0].first_channel) == (540.0, 2, "web")


def test_channel_daily_kpis(spark):
    tps = frame(spark, "silver.touchpoints", [
        tp("A", T(2026, 1, 30, 9), "web", anonymous_id="d1"),
        tp("A", T(2026, 1, 30, 9, 10), "web", "track", "Order Completed", anonymous_id="d1"),
        tp(None, T(2026, 1, 30, 11), "web", anonymous_id="d9"),                 # anonymous visitor
        *order_tps("A", "o1", T(2026, 1, 30, 9, 10), 100.0, channel="web"),
        *order_tps(None, "o2", T(2026, 1, 30, 10), 50.0, [("cancelled", T(2026, 1, 31))], channel="web"),
        tp("B", T(2026, 1, 30, 14), "call_center", "call", "voucher", "call_center")])
    calls = frame(spark, "silver.calls", [
        {"call_id": "c1", "customer_key": "B", "started_at": T(2026, 1, 30, 14), "csat": 4},
        {"call_id": "c2", "started_at": T(2026, 1, 30, 16), "csat": 2}])
    got = {r.channel: r for r in channel_daily_kpis(tps, calls, AS_OF, 30, {"EUR": 1.0})
           .where(f"activity_date = '{D(2026, 1, 30)}'").collect()}
    web, cc = got["web"], got["call_center"]
    assert (web.touchpoints, web.active_customers, web.sessions, web.converted_sessions) == (5, 1, 2, 1)
    assert (web.conversion_rate, web.orders, web.completed_orders, web.revenue_eur) == (0.5, 2, 1, 100.0)
    assert (cc.calls, cc.avg_csat, cc.csat_responses, cc.active_customers, cc.sessions) == (2, 3.0, 2, 1, 0)
