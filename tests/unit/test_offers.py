"""The next best offer's pure parts (jobs/models/offers.py) on planted customers: the best expected
value wins, only consented channels are used, the contact cap holds at and over it, counts of
recent contacts, response rates shrunk towards the channel's."""

import datetime as dt

import pandas as pd
import pytest

from jobs.models import offers
from jobs.models.evaluate import offer_gain
from jobs.models.offers import OfferSettings

AS_OF = dt.date(2026, 3, 10)
SETTINGS = OfferSettings(contact_cap=2, cap_days=7, default_hour=10, response_prior=30.0)
CONSENT_COLUMNS = ", ".join(f"consent_marketing_{c} boolean" for c in offers.CHANNELS)


def _customers(spark, rows):
    """rows: (key, consented channels, preferred_contact_hour)."""
    data = [(key, "g", *(c in consented for c in offers.CHANNELS), hour) for key, consented, hour in rows]
    return spark.createDataFrame(
        data, f"customer_key string, response_group string, {CONSENT_COLUMNS}, preferred_contact_hour int")


def _choose(spark, customers, contacts=(), scales=None):
    keys = [row[0] for row in customers]
    propensities = spark.createDataFrame(
        [(k, offer, f"{offer}_propensity", "3", p) for k in keys for offer, p in (("extra_bag", 0.5), ("insurance", 0.3))],
        "customer_key string, offer string, model string, model_version string, propensity double")
    values = spark.createDataFrame([("extra_bag", 40.0), ("insurance", 100.0)], "offer string, offer_value_eur double")
    responses = spark.createDataFrame([("email", "g", 0.10), ("sms", "g", 0.05), ("push", "g", 0.02), ("phone", "g", 0.2)],
                                      "channel string, response_group string, response_rate double")
    recent = spark.createDataFrame(list(contacts), "customer_key string, contacts long")
    if scales is not None:
        scales = spark.createDataFrame(list(scales.items()), "offer string, scale double")
    out = offers.choose_offers(_customers(spark, customers), propensities, values, responses, recent, SETTINGS,
                               scales)
    return {r["customer_key"]: r for r in out.collect()}


def test_the_offer_with_the_best_expected_value_on_a_consented_channel_wins(spark):
    rows = _choose(spark, [("A", ("email", "sms"), 18), ("B", ("push",), None)])
    a = rows["A"]
    # insurance: 0.3 x 0.10 x 100 = 3.0 beats extra_bag: 0.5 x 0.10 x 40 = 2.0; email (0.10) beats sms (0.05)
    assert (a.decision, a.offer, a.channel, a.send_hour) == ("offer", "insurance", "email", 18)
    assert a.expected_value_eur == pytest.approx(3.0)
    assert "insurance_propensity v3 scores 0.300" in a.reason and "email consented" in a.reason
    b = rows["B"]     # only push consented: offered there although phone responds better
    assert (b.decision, b.channel, b.send_hour) == ("offer", "push", SETTINGS.default_hour)
    assert sorted(b.consented_channels) == ["push"]


def test_booking_rates_set_each_categorys_scale(spark):
    """Past bookings: K booked twice (a bag once), L once (a bag and insurance); M never flew."""
    states = spark.createDataFrame([
        ("o1", "K", True, ["extra_bag", "flight"]), ("o2", "K", True, ["flight"]),
        ("o3", "L", True, ["extra_bag", "flight", "insurance"]), ("o4", "M", False, ["insurance"]),
    ], "order_id string, customer_key string, has_flight boolean, categories array<string>")
    rates = offers.booking_rates(states, ["extra_bag", "insurance"])
    got = {(r.customer_key, r.offer): r.booking_rate for r in rates.collect()}
    assert got == {("K", "extra_bag"): 0.5, ("K", "insurance"): 0.0, ("L", "extra_bag"): 1.0,
                   ("L", "insurance"): 1.0}
    propensities = spark.createDataFrame(
        [("K", "extra_bag", 0.5), ("L", "extra_bag", 1.0), ("K", "insurance", 0.5), ("L", "insurance", 0.5),
         ("M", "insurance", 0.9)],   # M has no booking: scored, but not part of the scale
        "customer_key string, offer string, propensity double")
    scales = {r.offer: r.scale for r in offers.per_offer_scale(propensities, rates).collect()}
    assert scales == pytest.approx({"extra_bag": 0.75 / 0.75, "insurance": 0.5 / 0.5})


def test_the_scale_per_offer_changes_which_category_wins(spark):
    """Insurance scores are twice the chance per offer (scale 0.5): 0.15 x 100 = 1.5 loses to the bag."""
    a = _choose(spark, [("A", ("email",), 18)], scales={"insurance": 0.5, "extra_bag": 1.0})["A"]
    assert (a.offer, a.propensity) == ("extra_bag", 0.5)
    assert a.expected_value_eur == pytest.approx(0.5 * 0.10 * 40)
    assert "scores 0.500 (0.500 per offer" in a.reason


def test_nobody_is_offered_anything_on_a_channel_without_consent(spark):
    # C withdrew every marketing consent; D withdrew email (the best responding channel) and phone
    rows = _choose(spark, [("C", (), 9), ("D", ("sms", "push"), 9)])
    c = rows["C"]
    assert (c.decision, c.offer, c.channel) == ("no_marketing_consent", None, None)
    assert c.reason == "no channel with marketing consent"
    assert (rows["D"].decision, rows["D"].channel) == ("offer", "sms")


def test_the_contact_cap_holds_at_and_over_it(spark):
    rows = _choose(spark, [("E", ("email",), 9), ("F", ("email",), 9), ("G", ("email",), 9), ("H", ("email",), 9)],
                   contacts=[("E", 1), ("F", 2), ("G", 5)])
    assert rows["H"].decision == "offer" and rows["H"].contacts_7d == 0
    assert rows["E"].decision == "offer" and rows["E"].contacts_7d == 1
    for key, n in (("F", 2), ("G", 5)):
        r = rows[key]
        assert (r.decision, r.offer, r.channel, r.contacts_7d, r.contact_cap) == ("contact_cap_reached", None, None, n, 2)
        assert r.reason == f"{n} contacts in the last 7 days (cap 2)"


def test_recent_contacts_count_sends_in_the_window_and_earlier_offers_not_todays(spark):
    contacts = spark.createDataFrame(
        [("A", "email", dt.date(2026, 3, 4), False),     # first day of the 7-day window
         ("A", "sms", dt.date(2026, 3, 3), True),        # the day before it: not counted
         ("B", "email", dt.date(2026, 3, 10), False)],
        "customer_key string, channel string, sent_on date, responded boolean")
    past = spark.createDataFrame(
        [("A", dt.date(2026, 3, 8), "offer"), ("A", dt.date(2026, 3, 10), "offer"),   # today's is being decided
         ("B", dt.date(2026, 3, 9), "contact_cap_reached"), ("C", dt.date(2026, 3, 5), "offer")],
        "customer_key string, as_of_date date, decision string")
    counts = {r["customer_key"]: r["contacts"] for r in offers.recent_contacts(contacts, past, AS_OF, 7).collect()}
    assert counts == {"A": 2, "B": 1, "C": 1}


def test_campaign_contacts_are_messages_sent_up_to_the_date_with_their_response(spark):
    events = spark.createDataFrame(
        [("E1", "K1", "A", "email", "sent", dt.datetime(2026, 3, 1, 7)),
         ("E2", "K1", "A", "email", "clicked", dt.datetime(2026, 3, 2, 9)),
         ("E3", "K2", "A", "sms", "sent", dt.datetime(2026, 3, 9, 10)),
         ("E4", "K2", "A", "sms", "clicked", dt.datetime(2026, 3, 11, 10)),    # after the date
         ("E5", "K3", "A", "push", "sent", dt.datetime(2026, 3, 11, 10)),      # after the date
         ("E6", "K1", None, "email", "sent", dt.datetime(2026, 3, 1, 7))],     # no customer
        "event_id string, campaign_id string, customer_key string, channel string, action string, occurred_at timestamp")
    rows = sorted((r.channel, str(r.sent_on), r.responded) for r in offers.campaign_contacts(events, AS_OF).collect())
    assert rows == [("email", "2026-03-01", True), ("sms", "2026-03-09", False)]


def test_a_groups_response_rate_is_shrunk_towards_its_channels(spark):
    # email: group a 30 sends 15 responses, group b 30 sends 3; channel rate 18/60 = 0.3; prior 30
    contacts = spark.createDataFrame(
        [(f"a{i}", "email", i < 15) for i in range(30)] + [(f"b{i}", "email", i < 3) for i in range(30)],
        "customer_key string, channel string, responded boolean")
    groups = spark.createDataFrame([(f"a{i}", "a") for i in range(30)] + [(f"b{i}", "b") for i in range(30)]
                                   + [("n", "never_sent")], "customer_key string, response_group string")
    rates = {r["response_group"]: r["response_rate"] for r in offers.channel_response(contacts, groups, 30.0).collect()}
    assert rates["a"] == pytest.approx((15 + 30 * 0.3) / 60)
    assert rates["b"] == pytest.approx((3 + 30 * 0.3) / 60)
    assert rates["never_sent"] == pytest.approx(0.3)


def test_offer_gain_is_the_share_of_the_oracles_gain_over_random():
    options = pd.DataFrame({"customer_key": ["A", "A", "B", "B"], "offer": ["x", "y", "x", "y"],
                            "channel": ["email"] * 4, "planted_gain": [1.0, 3.0, 2.0, 2.0]})
    chosen = pd.DataFrame({"customer_key": ["A", "B"], "offer": ["x", "x"], "channel": ["email", "email"]})
    gain = offer_gain(options, chosen)
    # oracle 3 + 2, random 2 + 2, chosen 1 + 2: (3 - 4) / (5 - 4)
    assert (gain["oracle_gain"], gain["random_gain"], gain["policy_gain"]) == (5.0, 4.0, 3.0)
    assert gain["captured"] == pytest.approx(-1.0)
    assert offer_gain(options, chosen.assign(offer=["y", "x"]))["captured"] == pytest.approx(1.0)


def test_offer_settings_come_from_the_models_section_and_bad_values_name_the_key(tmp_path):
    from jobs.common.errors import ConfigError
    from jobs.models.settings import model_settings
    from tests.conftest import make_config

    assert model_settings(make_config(tmp_path)).offers == OfferSettings()
    assert model_settings(make_config(tmp_path, **{"models.offers.contact_cap": 3})).offers.contact_cap == 3
    with pytest.raises(ConfigError, match=r"models\.offers\.contact_cap'.*got 0; allowed: an integer >= 1"):
        model_settings(make_config(tmp_path, **{"models.offers.contact_cap": 0}))
    with pytest.raises(ConfigError, match=r"models\.offers\.cap_dayz'.*unknown key; allowed: contact_cap, cap_days"):
        model_settings(make_config(tmp_path, **{"models.offers.cap_dayz": 7}))


def test_a_categorys_attach_score_is_its_propensity_and_its_purchase_score_the_fallback(spark):
    from jobs.models.spec import ModelSpec
    from jobs.models.targets import Target

    def spec(name, kind, category):
        return ModelSpec(name=name, description="", target=Target(kind, category), horizon_days=14,
                         features=("age",), algorithm="gbt", params={})

    models = offers.offer_models([spec("bag_buy", "purchase", "extra_bag"), spec("bag_add", "attach", "extra_bag"),
                           spec("churn", "churn", None)])
    assert models == {"bag_buy": ("extra_bag", 1), "bag_add": ("extra_bag", 0)}
    scores = spark.createDataFrame(
        [("A", "bag_buy", "1", 0.2, AS_OF), ("A", "bag_add", "4", 0.6, AS_OF),   # both: attach wins
         ("B", "bag_buy", "1", 0.3, AS_OF),                                      # attach did not score B
         ("C", "bag_add", "4", 0.9, dt.date(2026, 3, 9)), ("C", "churn", "2", 0.5, AS_OF)],
        "customer_key string, model string, model_version string, score double, as_of_date date")
    rows = sorted(tuple(r) for r in offers.offer_propensities(scores, models, AS_OF).collect())
    assert rows == [("A", "extra_bag", "bag_add", "4", 0.6), ("B", "extra_bag", "bag_buy", "1", 0.3)]
