"""customer_360's pure parts on hand-made silver rows: orders as of a date, value, the RFM summary
(buy-till-you-die convention), consent, sessions, preferences, and the whole row."""


from chispa import assert_df_equality
from pyspark.sql import functions as F

from jobs.common.contracts import table_schema
from jobs.gold import customer_360 as c360
from jobs.gold.common import sessionise
from jobs.gold.segments import Segment
from jobs.gold.settings import GoldSettings
from tests.gold_frames import D, T, customer, frame, item, order_tps, tp

AS_OF = D(2026, 1, 31)
FX = {"EUR": 1.0, "GBP": 1.17}


def _orders(spark):
    rows = (
        # A: two orders the same day (one purchase day), a later day, a refund, a cancellation,
        #    and an order refunded only after the as-of date (still a purchase on that date)
        order_tps("A", "o1", T(2026, 1, 1, 10), 100.0) + order_tps("A", "o2", T(2026, 1, 1, 15), 50.0)
        + order_tps("A", "o3", T(2026, 1, 5, 9), 30.0)
        + order_tps("A", "o4", T(2026, 1, 9, 9), 200.0, [("refunded", T(2026, 1, 12))])
        + order_tps("A", "o5", T(2026, 1, 10, 9), 80.0, [("cancelled", T(2026, 1, 11))])
        + order_tps("A", "o6", T(2026, 1, 20, 9), 40.0, [("refunded", T(2026, 2, 3))])
        # B: a single purchase, in GBP
        + order_tps("B", "o7", T(2026, 1, 15, 9), 100.0, currency="GBP")
        # C: only a refunded order; D: an order after the as-of date
        + order_tps("C", "o8", T(2026, 1, 3, 9), 90.0, [("refunded", T(2026, 1, 4))])
        + order_tps("D", "o9", T(2026, 2, 2, 9), 10.0)
    )
    items = [item("o1", 0, "flight"), item("o1", 1, "extra_bag"), item("o1", 2, "seat", "window"),
             item("o3", 0, "flight"), item("o3", 1, "seat", "window"), item("o6", 0, "flight"),
             item("o6", 1, "seat", "aisle"), item("o7", 0, "flight"), item("o7", 1, "seat", "aisle")]
    return frame(spark, "silver.touchpoints", rows), frame(spark, "silver.order_items", items)


def test_order_states_take_the_status_as_of_the_date(spark):
    tps, items = _orders(spark)
    got = {r.order_id: r for r in c360.order_states(tps, items, AS_OF, FX).collect()}
    assert set(got) == {f"o{i}" for i in range(1, 9)}             # o9 was placed after the date
    assert (got["o4"].status, got["o5"].status, got["o6"].status) == ("refunded", "cancelled", "completed")
    assert got["o7"].amount_eur == 117.0                           # 100 GBP at 1.17
    assert (got["o1"].has_flight, got["o1"].has_extra_bag, got["o1"].window_seats) == (True, True, 1)
    assert got["o4"].placed_at == T(2026, 1, 9, 9)                 # placed when first seen, not refunded


def test_rfm_follows_the_buy_till_you_die_convention(spark):
    tps, items = _orders(spark)
    got = c360.rfm(c360.order_states(tps, items, AS_OF, FX), AS_OF)
    expected = spark.createDataFrame([
        # A: purchase days Jan 1 (100 + 50), Jan 5 (30), Jan 20 (40); refunded/cancelled excluded
        ("A", D(2026, 1, 1), D(2026, 1, 20), 2, 19, 35.0),        # monetary (30 + 40) / 2
        ("B", D(2026, 1, 15), D(2026, 1, 15), 0, 0, 0.0),          # single purchase: monetary 0
    ], "customer_key string, rfm_first_purchase_date date, rfm_last_purchase_date date, rfm_frequency int, "
       "rfm_recency_days int, rfm_monetary_eur double")            # C (refund only) is not a buyer
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_value_counts_statuses_revenue_refunds_and_habits(spark):
    tps, items = _orders(spark)
    got = {r.customer_key: r for r in c360.value(c360.order_states(tps, items, AS_OF, FX), AS_OF).collect()}
    a = got["A"]
    assert (a.orders_count, a.completed_orders, a.cancelled_orders, a.refunds_count) == (6, 4, 1, 1)
    assert (a.revenue_eur, a.avg_order_value_eur, a.refunds_amount_eur) == (220.0, 55.0, 200.0)
    assert (a.flight_orders, a.extra_bag_share, a.preferred_seat) == (3, 0.3333, "window")
    assert (got["B"].revenue_eur, got["B"].preferred_seat, got["B"].extra_bag_share) == (117.0, "aisle", 0.0)
    c = got["C"]
    assert (c.completed_orders, c.revenue_eur, c.avg_order_value_eur, c.refunds_amount_eur) == (0, 0.0, None, 90.0)


def test_consent_is_the_latest_choice_as_of_the_date(spark):
    rows = [{"consent_event_id": str(i), "customer_id": "C1", "customer_key": "A", "purpose": p, "channel": ch,
             "status": st, "occurred_at": at} for i, (p, ch, st, at) in enumerate([
                 ("marketing", "email", "granted", T(2026, 1, 1)), ("marketing", "email", "withdrawn", T(2026, 1, 9)),
                 ("marketing", "sms", "granted", T(2026, 1, 2)),
                 ("marketing", "push", "granted", T(2026, 2, 5)),          # after the as-of date
                 ("analytics", "any", "granted", T(2026, 1, 3))])]
    got = c360.consent_state(frame(spark, "silver.consents", rows), AS_OF).first()
    assert (got.consent_marketing_email, got.consent_marketing_sms, got.consent_marketing_push,
            got.consent_analytics_any, got.consent_personalization_any) == (False, True, False, True, False)
    assert got.consent_updated_at == T(2026, 1, 9)


def test_sessions_split_on_thirty_minutes_of_inactivity_per_device(spark):
    rows = [tp("A", T(2026, 1, 30, 10, 0), anonymous_id="d1"), tp("A", T(2026, 1, 30, 10, 10), anonymous_id="d1"),
            tp("A", T(2026, 1, 30, 10, 45), anonymous_id="d1", kind="track", name="Order Completed"),
            tp("A", T(2026, 1, 30, 10, 50), anonymous_id="d1"),
            tp("A", T(2026, 1, 30, 10, 5), "app", "screen", anonymous_id="d2")]
    got = sessionise(frame(spark, "silver.touchpoints", rows), 30).orderBy("started_at")
    assert [(r.anonymous_id, r.channel, r.events, r.page_views, r.has_order) for r in got.collect()] == [
        ("d1", "web", 2, 2, False), ("d2", "app", 1, 1, False), ("d1", "web", 2, 1, True)]


def test_behaviour_prefers_what_the_customer_started(spark):
    rows = [tp("A", T(2026, 1, 30, 9), "web", "page"), tp("A", T(2026, 1, 30, 9, 5), "web", "page"),
            tp("A", T(2026, 1, 29, 18), "call_center", "call", "baggage", "call_center"),
            tp("A", T(2026, 1, 30, 18), "call_center", "call", "baggage", "call_center"),
            tp("A", T(2026, 1, 28, 18), "call_center", "call", "baggage", "call_center"),
            # the company talking, not the customer: never a preference
            *[tp("A", T(2026, 1, d, 7), "email", "campaign", "sent", "campaigns") for d in (2, 3, 4, 5)],
            *[tp("A", T(2026, 1, d, 20), "server", "track", "Flight Reminder Sent") for d in (2, 3, 4, 5)],
            tp("A", T(2025, 9, 1, 9), "app", "screen")]                        # outside 30 and 90 days
    got = c360.behaviour(frame(spark, "silver.touchpoints", rows), AS_OF, 30).first()
    assert got.preferred_channel == "call_center"            # 3 calls beat 2 page views
    assert got.preferred_contact_hour == 18
    assert got.channels_used == ["app", "call_center", "email", "server", "web"]
    assert got.last_touch_at["call_center"] == T(2026, 1, 30, 18)
    assert (got.sessions_30d, got.sessions_90d, got.page_views_30d, got.page_views_90d) == (1, 1, 2, 2)
    assert (got.first_seen_at, got.last_seen_at) == (T(2025, 9, 1, 9), T(2026, 1, 30, 18))


def _silver(spark):
    tps, items = _orders(spark)
    extra = frame(spark, "silver.touchpoints", [
        tp("A", T(2026, 1, 25, 12), "web", "page", anonymous_id="d1"),
        tp("A", T(2026, 1, 26, 12), "call_center", "call", "lost_bag", "call_center")])
    calls = frame(spark, "silver.calls", [
        {"call_id": "c1", "customer_key": "A", "started_at": T(2026, 1, 26, 12), "reason": "lost_bag", "csat": 2},
        {"call_id": "c2", "customer_key": "A", "started_at": T(2026, 1, 27, 12), "reason": "voucher"}])
    events = frame(spark, "silver.campaign_events", [
        {"event_id": f"e{i}", "campaign_id": "K", "variant": "A", "customer_id": "C1", "customer_key": "A",
         "action": a, "occurred_at": T(2026, 1, 10 + i)} for i, a in enumerate(["sent", "opened", "clicked"])])
    consents = frame(spark, "silver.consents", [
        {"consent_event_id": "x", "customer_id": "C1", "customer_key": "A", "purpose": "marketing",
         "channel": "email", "status": "granted", "occurred_at": T(2026, 1, 1)}])
    customers = frame(spark, "silver.customers", [
        customer("A", T(2025, 12, 1), "C1", anonymous_id=2, email=1), customer("B"), customer("C"),
        customer("D", T(2026, 2, 2))])                                     # D did not exist yet
    return c360.Silver(customers, tps.unionByName(extra), items, calls, events, consents)


def test_the_whole_row_and_its_schema(spark):
    settings = GoldSettings(segments_file=None, fx_to_eur=FX)
    built = c360.build_customer_360(_silver(spark), AS_OF, settings)
    segments = (Segment("repeat", "two days or more", "rfm_frequency >= 1"),
                Segment("unhappy", "bad call", "calls_30d >= 1 AND last_call_csat <= 2"),
                Segment("nobody", "null is not membership", "preferred_seat = 'middle'"))
    rows = {r.customer_key: r for r in c360.finish(built, segments, "run-1").collect()}
    assert set(rows) == {"A", "B", "C"}
    a = rows["A"]
    assert (a.as_of_date, a.primary_customer_id, a.is_member, a.crm_id_count, a.anonymous_id_count) == (
        AS_OF, "C1", True, 1, 2)
    assert (a.rfm_frequency, a.rfm_recency_days, a.rfm_t_days, a.rfm_monetary_eur) == (2, 19, 30, 35.0)
    assert (a.calls_30d, a.last_call_reason, a.last_call_csat) == (2, "voucher", 2)
    assert (a.campaign_sends_90d, a.campaign_opens_90d, a.campaign_clicks_90d) == (1, 1, 1)
    assert (a.consent_marketing_email, a.consent_marketing_sms) == (True, False)
    assert a.segments == ["repeat", "unhappy"]
    b, c = rows["B"], rows["C"]
    assert (b.rfm_frequency, b.rfm_t_days, b.rfm_monetary_eur, b.is_buyer) == (0, 16, 0.0, True)
    assert (c.is_buyer, c.rfm_frequency, c.rfm_t_days, c.sessions_30d, c.channels_used) == (False, None, None, 0, ["web"])
    assert c.segments == []
    declared = table_schema("gold.customer_360")
    assert [f.name for f in c360.finish(built, segments, "r").schema.fields] == declared.column_names
    assert all(col.description for col in declared.columns)


def test_as_of_columns_move_with_the_date_alone(spark):
    row = spark.createDataFrame([("A", D(2026, 1, 1))], "customer_key string, rfm_first_purchase_date date")
    got = c360.with_as_of(row, D(2026, 3, 1)).first()
    assert (got.as_of_date, got.rfm_t_days) == (D(2026, 3, 1), 59)


def test_moved_days_cover_days_entering_and_leaving_each_window():
    got = c360.moved_days(D(2026, 1, 31), D(2026, 2, 2), windows=(30,))
    assert got == [(D(2026, 2, 1), D(2026, 2, 2)), (D(2026, 1, 2), D(2026, 1, 3))]
    assert c360.moved_days(D(2026, 1, 31), D(2026, 1, 31)) == []


def test_no_direct_identifiers_in_customer_360():
    names = set(table_schema("gold.customer_360").column_names)
    for banned in ("email", "phone", "first_name", "last_name", "street", "birth_date", "email_hash", "phone_hash",
                   "anonymous_id", "ip_hash", "postal_code", "city"):
        assert banned not in names


def test_to_eur_leaves_unknown_currencies_without_value(spark):
    from jobs.gold.common import to_eur

    df = spark.createDataFrame([(10.0, "EUR"), (10.0, "gbp"), (10.0, "JPY")], "a double, c string")
    got = [r.v for r in df.select(to_eur(F.col("a"), F.col("c"), FX).alias("v")).collect()]
    assert got == [10.0, 11.7, None]


def test_households_count_who_lives_there_as_of_the_date(spark):
    everyone = frame(spark, "silver.customers", [
        customer("A", T(2026, 1, 1), household="h1", birth_year=1980),
        customer("B", T(2026, 1, 2), household="h1", birth_year=2004),
        customer("C", T(2026, 2, 5), household="h1", birth_year=2010),    # arrives after the date
        customer("D", T(2026, 1, 3), household="h2", birth_year=1990),
        customer("E", T(2026, 1, 3))])                                    # no address: no household
    got = {r.customer_key: (r.household_size, r.household_youngest_birth_year)
           for r in c360.households(everyone, AS_OF).collect()}
    assert got == {"A": (2, 2004), "B": (2, 2004), "D": (1, 1990)}
    keys = spark.createDataFrame([("A",)], "customer_key string")
    mates = c360.with_household_mates(keys, everyone)
    assert sorted(r.customer_key for r in mates.collect()) == ["A", "B", "C"]
    moved_out = spark.createDataFrame([("h2",)], "household_hash string")   # a row that changed lived in h2
    assert sorted(r.customer_key for r in c360.with_household_mates(keys, everyone, moved_out).collect()) == [
        "A", "B", "C", "D"]
