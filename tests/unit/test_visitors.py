"""Anonymous visitors (devices): who counts as one on a cutoff day, what their browsing says, and that a
later sign-in or order reaches only the label."""

from pathlib import Path

from chispa import assert_df_equality

from jobs.gold.customer_360 import Silver
from jobs.gold.settings import GoldSettings
from jobs.models.targets import Target, with_labels
from jobs.models.visitors import visitor_features
from tests.gold_frames import D, T, customer, frame, order_tps, tp

SETTINGS = GoldSettings(segments_file=Path("segments/segments.yaml"), fx_to_eur={"EUR": 1.0})
CUTOFF = D(2026, 3, 10)
TARGET = Target("visitor_conversion")


def _browse(key, at, name="Home", kind="page", device="dev-1", **extra):
    return tp(key, at, "web", kind, name, anonymous_id=device, **extra)


def _silver(spark, touchpoints) -> Silver:
    keys = sorted({t["customer_key"] for t in touchpoints if t["customer_key"]})
    empty = {t: frame(spark, t, []) for t in ("silver.order_items", "silver.calls", "silver.campaign_events",
                                              "silver.consents")}
    return Silver(frame(spark, "silver.customers", [customer(k) for k in keys]),
                  frame(spark, "silver.touchpoints", touchpoints), empty["silver.order_items"],
                  empty["silver.calls"], empty["silver.campaign_events"], empty["silver.consents"])


def _past():
    """V browses anonymously over two days (two sessions); S signed in before the cutoff; G gave
    an email in an identify call; O placed an order; K signed in on one device and only browsed on
    another. On the cutoff day the visitors are V's device and K's second device."""
    return [
        _browse("V", T(2026, 3, 1, 9)), _browse("V", T(2026, 3, 1, 9, 5), "Products Searched", "track"),
        _browse("V", T(2026, 3, 8, 20)), _browse("V", T(2026, 3, 8, 20, 2), "Product Viewed", "track",
                                                 utm_medium="email"),
        _browse("S", T(2026, 3, 2, 9), device="dev-2"),
        _browse("S", T(2026, 3, 2, 9, 1), "Signed In", "track", device="dev-2", customer_id="C1"),
        _browse("G", T(2026, 3, 3, 9), device="dev-3"), _browse("G", T(2026, 3, 3, 9, 1), None, "identify",
                                                                device="dev-3"),
        *order_tps("O", "o1", T(2026, 3, 4, 9), 50.0),
        _browse("K", T(2026, 3, 5, 9), "Signed In", "track", device="dev-5", customer_id="C5"),
        _browse("K", T(2026, 3, 6, 9), device="dev-4"),
    ]


def _future():
    """After the cutoff: V signs in, then buys."""
    return [_browse("V", T(2026, 3, 11, 9), "Signed In", "track", customer_id="C9"),
            *order_tps("V", "o2", T(2026, 3, 11, 9, 10), 80.0)]


def test_only_devices_nothing_named_by_the_cutoff_day_are_visitors(spark):
    rows = {r.anonymous_id: r for r in visitor_features(_silver(spark, _past()).touchpoints, CUTOFF, 30).collect()}
    assert {device: r.customer_key for device, r in rows.items()} == {"dev-1": "V", "dev-4": "K"}
    v = rows["dev-1"]
    assert (v.visitor_sessions, v.visitor_events, v.visitor_page_views, v.visitor_active_days) == (2, 4, 2, 2)
    assert (v.visitor_searches, v.visitor_product_views, v.visitor_sessions_7d) == (1, 1, 1)
    assert (v.days_since_first_visit, v.days_since_last_visit, v.first_touch_medium) == (9, 2, "email")


def test_a_later_sign_in_or_order_reaches_the_label_and_never_the_features(spark):
    past = _silver(spark, _past())
    with_future = _silver(spark, _past() + _future())
    before = visitor_features(past.touchpoints, CUTOFF, 30)
    after = visitor_features(with_future.touchpoints, CUTOFF, 30)
    assert_df_equality(before, after, ignore_row_order=True, ignore_nullable=True)
    assert {r.anonymous_id: r.label for r in with_labels(after, with_future, TARGET, CUTOFF, 7, SETTINGS)
            .collect()} == {"dev-1": 1, "dev-4": 0}
    assert {r.anonymous_id: r.label for r in with_labels(before, past, TARGET, CUTOFF, 7, SETTINGS)
            .collect()} == {"dev-1": 0, "dev-4": 0}
    # Once it signed in, V's device is nobody's anonymous visitor any more.
    later = visitor_features(with_future.touchpoints, D(2026, 3, 12), 30).collect()
    assert [r.anonymous_id for r in later] == ["dev-4"]


def test_a_visitor_is_a_population_of_its_own():
    assert (TARGET.population, TARGET.row_key) == ("visitors", "anonymous_id")
    assert (Target("churn").population, Target("churn").row_key) == ("customers", "customer_key")


def test_the_visitor_oracle_follows_the_generators_process():
    import pandas as pd

    from jobs.models.evaluate import visitor_oracle

    people = pd.DataFrame({
        "activity": [1.0, 1.0, 1.0, 1.0, 2.0],
        "n_devices": [1, 1, 1, 2, 2],
        "segment": ["leisure", "leisure", "business", "leisure", "leisure"],
        "crm_id": ["C1", None, None, "C4", "C5"],
        "crm_created_date": ["2020-01-01", None, None, "2020-01-01", "2020-01-01"],
        "churned_at": [None, None, None, None, "2026-03-10"],   # churned on the cutoff day: no session left
    })
    got = visitor_oracle(people, D(2026, 3, 10), 14).tolist()
    member, guest, business_guest, member_of_two_devices, churned = got
    assert member > business_guest > guest > 0 and churned == 0
    assert business_guest == guest * 1.3 and member_of_two_devices == member / 2
