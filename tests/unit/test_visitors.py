"""Anonymous visitors: who counts as one on a cutoff day, what their browsing says, and that a
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
    an email in an identify call; O placed an order. Only V is a visitor on the cutoff day."""
    return [
        _browse("V", T(2026, 3, 1, 9)), _browse("V", T(2026, 3, 1, 9, 5), "Products Searched", "track"),
        _browse("V", T(2026, 3, 8, 20)), _browse("V", T(2026, 3, 8, 20, 2), "Product Viewed", "track",
                                                 utm_medium="email"),
        _browse("S", T(2026, 3, 2, 9), device="dev-2"),
        _browse("S", T(2026, 3, 2, 9, 1), "Signed In", "track", device="dev-2", customer_id="C1"),
        _browse("G", T(2026, 3, 3, 9), device="dev-3"), _browse("G", T(2026, 3, 3, 9, 1), None, "identify",
                                                                device="dev-3"),
        *order_tps("O", "o1", T(2026, 3, 4, 9), 50.0),
    ]


def _future():
    """After the cutoff: V signs in, then buys."""
    return [_browse("V", T(2026, 3, 11, 9), "Signed In", "track", customer_id="C9"),
            *order_tps("V", "o2", T(2026, 3, 11, 9, 10), 80.0)]


def test_only_keys_nobody_could_name_on_the_cutoff_day_are_visitors(spark):
    rows = visitor_features(_silver(spark, _past()).touchpoints, CUTOFF, 30).collect()
    assert [r.customer_key for r in rows] == ["V"]
    v = rows[0]
    assert (v.visitor_sessions, v.visitor_events, v.visitor_page_views, v.visitor_active_days) == (2, 4, 2, 2)
    assert (v.visitor_searches, v.visitor_product_views, v.visitor_sessions_7d) == (1, 1, 1)
    assert (v.days_since_first_visit, v.days_since_last_visit, v.first_touch_medium) == (9, 2, "email")


def test_a_later_sign_in_or_order_reaches_the_label_and_never_the_features(spark):
    past = _silver(spark, _past())
    with_future = _silver(spark, _past() + _future())
    before = visitor_features(past.touchpoints, CUTOFF, 30)
    after = visitor_features(with_future.touchpoints, CUTOFF, 30)
    assert_df_equality(before, after, ignore_row_order=True, ignore_nullable=True)
    assert {r.customer_key: r.label for r in with_labels(after, with_future, TARGET, CUTOFF, 7, SETTINGS)
            .collect()} == {"V": 1}
    assert {r.customer_key: r.label for r in with_labels(before, past, TARGET, CUTOFF, 7, SETTINGS)
            .collect()} == {"V": 0}
    # The sign-in and the order are no longer anonymous browsing: V is nobody's visitor after them.
    assert visitor_features(with_future.touchpoints, D(2026, 3, 12), 30).count() == 0


def test_a_visitor_is_a_population_of_its_own():
    assert TARGET.population == "visitors" and Target("churn").population == "customers"
