"""Next best offer, pure: per customer, the offer and channel with the best expected value.

    expected value = propensity (the category's champion score)
                   x the category's scale to one offer (per_offer_scale, from past bookings)
                   x response rate of the channel (campaign history of customers like them)
                   x value of the offer (mean EUR amount of the category's item lines)

Only channels with marketing consent as of the date are candidates; a customer who has had
`contact_cap` contacts in the `cap_days` days up to the date (campaign sends and earlier offers)
gets no offer. Every customer with a propensity score gets a row, offered or not, with a reason.
The reading and writing is jobs/models/next_best_offer.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.gold.common import to_eur

CHANNELS = ("email", "sms", "push", "phone")
RESPONSES = ("clicked", "converted")          # what counts as responding to a campaign message
OFFER, NO_CONSENT, AT_CAP, NONE_SCORED = "offer", "no_marketing_consent", "contact_cap_reached", "no_offer_scored"
DECISIONS = (OFFER, NO_CONSENT, AT_CAP, NONE_SCORED)


@dataclass(frozen=True)
class OfferSettings:
    contact_cap: int = 2          # at most this many contacts in cap_days days, the offer included
    cap_days: int = 7
    default_hour: int = 10        # send hour (UTC) for a customer without a usual hour
    response_prior: float = 30.0  # sends' worth of weight the channel's overall rate has in a group's rate


OFFER_KINDS = ("attach", "purchase")   # per category, the first kind with a score is the offer's propensity


def offer_models(specs) -> dict[str, tuple[str, int]]:
    """model name -> (the category it offers, its rank among OFFER_KINDS): every model whose target
    is buying a category. "When they book, do they add it?" (attach) says more about accepting an
    offer than "will they buy it within N days" (purchase), which mixes in how often they book."""
    return {s.name: (s.target.category, OFFER_KINDS.index(s.target.kind))
            for s in specs if s.target.kind in OFFER_KINDS}


def offer_propensities(scores: DataFrame, models: dict[str, tuple[str, int]], as_of: dt.date) -> DataFrame:
    """customer_key, offer, model, model_version, propensity: per customer and category, the score of
    the best-ranked model that scored them on the date."""
    pairs = [x for m, (category, rank) in models.items() for x in (F.lit(m), F.struct(F.lit(category), F.lit(rank)))]
    meta = F.create_map(*pairs)[F.col("model")]
    ranked = (scores.where((F.col("as_of_date") == F.lit(as_of)) & F.col("model").isin(*models))
              .select("customer_key", meta["col1"].alias("offer"), meta["col2"].alias("_rank"), "model",
                      "model_version", F.col("score").alias("propensity")))
    first = Window.partitionBy("customer_key", "offer").orderBy("_rank")
    return ranked.withColumn("_n", F.row_number().over(first)).where("_n = 1").drop("_n", "_rank")


def booking_rates(states: DataFrame, categories: list[str]) -> DataFrame:
    """customer_key, offer, booking_rate: the share of the customer's flight bookings up to the date
    that hold the category (states: customer_360's order_states as of the date)."""
    flights = states.where(F.col("has_flight") & F.col("customer_key").isNotNull())
    return (flights.select("customer_key", F.explode(F.array(*[F.lit(c) for c in categories])).alias("offer"),
                           "categories")
            .groupBy("customer_key", "offer")
            .agg(F.avg(F.array_contains("categories", F.col("offer")).cast("double")).alias("booking_rate")))


def per_offer_scale(propensities: DataFrame, rates: DataFrame) -> DataFrame:
    """offer, scale: per category, the mean booking rate of the customers who have booked before,
    over the mean propensity of the same customers.

    A model answers its own question: "adds it on some booking in the next 14 days, among the
    customers who booked" (attach) or "buys it within 14 days" (purchase). Neither is the chance
    that one offer is taken, and the gap differs by category (frequent travellers, whom the data
    show only in part, weigh on upgrades), so ranking raw scores across categories favours some.
    Each booker's own past share is an unbiased view of their chance per booking, and their mean
    sets the category's scale; the order of customers within a category is the model's."""
    return (propensities.join(rates, ["customer_key", "offer"])
            .groupBy("offer")
            .agg((F.avg("booking_rate") / F.avg("propensity")).alias("scale")))


def offered_categories(models: dict[str, tuple[str, int]]) -> list[str]:
    return sorted({category for category, _ in models.values()})


def age_group(age: Column) -> Column:
    """Coarse age bands: response to sms and phone differs with age."""
    return (F.when(age.isNull(), "unknown").when(age < 40, "under_40")
            .when(age < 60, "40_59").otherwise("60_plus"))


def response_group(age: Column, channels_used: Column) -> Column:
    """The group a customer's channel response is estimated in: age band and app use."""
    app = F.when(F.array_contains(channels_used, "app"), "app").otherwise("no_app")
    return F.concat_ws("|", age_group(age), app)


def offer_values(items: DataFrame, orders: DataFrame, states: DataFrame, fx_to_eur: dict[str, float],
                 categories: list[str]) -> DataFrame:
    """category, offer_value_eur: the mean EUR amount of the category's item lines on orders
    placed up to the date and not cancelled or refunded as of it.

    states: customer_360's `order_states` as of the date (a refund after it does not count)."""
    kept = states.where(~F.col("status").isin("cancelled", "refunded")).select("order_id")
    placed = orders.select("order_id", "currency").join(kept, "order_id")
    return (items.where(F.col("category").isin(*categories)).join(placed, "order_id")
            .groupBy("category")
            .agg(F.round(F.avg(to_eur(F.col("line_amount"), F.col("currency"), fx_to_eur)), 2)
                 .alias("offer_value_eur")))


def campaign_contacts(campaign_events: DataFrame, as_of: dt.date) -> DataFrame:
    """customer_key, channel, sent_on, responded: one row per campaign message sent up to the date
    (responded: clicked or converted on it, up to the date)."""
    upto = campaign_events.where(F.col("customer_key").isNotNull() & F.col("channel").isin(*CHANNELS)
                                 & (F.to_date("occurred_at") <= F.lit(as_of)))
    return (upto.groupBy("campaign_id", "customer_key", "channel")
            .agg(F.min(F.when(F.col("action") == "sent", F.to_date("occurred_at"))).alias("sent_on"),
                 F.max(F.col("action").isin(*RESPONSES)).alias("responded"))
            .where(F.col("sent_on").isNotNull())
            .drop("campaign_id"))


def channel_response(contacts: DataFrame, groups: DataFrame, prior: float) -> DataFrame:
    """channel, response_group, response_rate: the share of messages responded to, per channel and
    group, shrunk towards the channel's overall share by `prior` sends (a small group borrows from
    the channel; a group with no history gets the channel's rate)."""
    sent = contacts.join(groups, "customer_key", "left").fillna({"response_group": "unknown"})
    overall = sent.groupBy("channel").agg(F.avg(F.col("responded").cast("double")).alias("channel_rate"))
    by_group = sent.groupBy("channel", "response_group").agg(
        F.count(F.lit(1)).alias("sends"), F.sum(F.col("responded").cast("double")).alias("responses"))
    all_groups = groups.select("response_group").distinct().crossJoin(overall)
    return (all_groups.join(by_group, ["channel", "response_group"], "left")
            .fillna({"sends": 0, "responses": 0.0})
            .select("channel", "response_group",
                    ((F.col("responses") + prior * F.col("channel_rate")) / (F.col("sends") + prior))
                    .alias("response_rate")))


def recent_contacts(contacts: DataFrame, past_offers: DataFrame, as_of: dt.date, days: int) -> DataFrame:
    """customer_key, contacts: campaign messages sent in the `days` days ending on the date, plus
    offers made on the days before it within that window (today's own offer is what is decided)."""
    start = F.date_sub(F.lit(as_of), days - 1)
    sends = contacts.where(F.col("sent_on") >= start).select("customer_key")
    offered = (past_offers.where((F.col("decision") == OFFER) & (F.col("as_of_date") >= start)
                                 & (F.col("as_of_date") < F.lit(as_of)))
               .select("customer_key"))
    return sends.unionByName(offered).groupBy("customer_key").agg(F.count(F.lit(1)).alias("contacts"))


def consented_channels() -> Column:
    """The channels with marketing consent, from customer_360's consent_marketing_<channel>."""
    return F.filter(F.array(*[F.when(F.col(f"consent_marketing_{c}"), F.lit(c)) for c in CHANNELS]),
                    lambda c: c.isNotNull())


def choose_offers(customers: DataFrame, propensities: DataFrame, values: DataFrame, responses: DataFrame,
                  contacts: DataFrame, settings: OfferSettings, scales: DataFrame | None = None) -> DataFrame:
    """One row per customer with a propensity: the best (offer, channel) or why there is none.

    customers:    customer_key, response_group, consent_marketing_<channel>..., preferred_contact_hour
    propensities: customer_key, offer (category), model, model_version, propensity
    scales:       offer, scale: the propensity's chance per offer (per_offer_scale; none: 1)
    values:       offer, offer_value_eur
    responses:    channel, response_group, response_rate
    contacts:     customer_key, contacts
    """
    people = (customers.join(propensities.select("customer_key").distinct(), "customer_key")
              .join(contacts, "customer_key", "left")
              .select("customer_key", "response_group", "preferred_contact_hour",
                      consented_channels().alias("consented_channels"),
                      F.coalesce("contacts", F.lit(0)).cast("int").alias("contacts_7d")))
    if scales is not None:
        propensities = propensities.join(scales, "offer", "left")
    else:
        propensities = propensities.withColumn("scale", F.lit(None).cast("double"))
    acceptance = F.least(F.lit(1.0), F.col("propensity") * F.coalesce("scale", F.lit(1.0)))
    candidates = (people.where(F.col("contacts_7d") < settings.contact_cap)
                  .select("customer_key", "response_group", F.explode("consented_channels").alias("channel"))
                  .join(responses, ["channel", "response_group"])
                  .join(propensities, "customer_key").join(values, "offer")
                  .withColumn("acceptance", acceptance)
                  .withColumn("expected_value_eur",
                              F.col("acceptance") * F.col("response_rate") * F.col("offer_value_eur")))
    best = Window.partitionBy("customer_key").orderBy(F.desc("expected_value_eur"), "offer", "channel")
    chosen = (candidates.withColumn("_rank", F.row_number().over(best)).where("_rank = 1")
              .drop("_rank", "response_group"))
    rows = people.join(chosen, "customer_key", "left")
    decision = (F.when(F.size("consented_channels") == 0, F.lit(NO_CONSENT))
                .when(F.col("contacts_7d") >= settings.contact_cap, F.lit(AT_CAP))
                .when(F.col("offer").isNull(), F.lit(NONE_SCORED))
                .otherwise(F.lit(OFFER)))
    reason = (F.when(F.col("decision") == NO_CONSENT, F.lit("no channel with marketing consent"))
              .when(F.col("decision") == NONE_SCORED,
                    F.lit("no offer has a value and a response rate on a consented channel"))
              .when(F.col("decision") == AT_CAP,
                    F.format_string(f"%d contacts in the last {settings.cap_days} days (cap %d)",
                                    F.col("contacts_7d"), F.lit(settings.contact_cap)))
              .otherwise(F.format_string(
                  "%s v%s scores %.3f (%.3f per offer, from past bookings); %s consented, %.1f%% of similar "
                  "customers respond; offer worth %.2f EUR",
                  F.col("model"), F.col("model_version"), F.col("propensity"), F.col("acceptance"),
                  F.col("channel"), F.col("response_rate") * 100, F.col("offer_value_eur"))))
    offered = F.col("decision") == OFFER
    return (rows.withColumn("decision", decision).withColumn("reason", reason)
            .select("customer_key", "decision",
                    *[F.when(offered, F.col(c)).alias(c) for c in
                      ("offer", "model", "model_version", "propensity", "channel", "response_rate",
                       "offer_value_eur", "expected_value_eur")],
                    F.when(offered, F.coalesce("preferred_contact_hour", F.lit(settings.default_hour)))
                    .alias("send_hour"),
                    "consented_channels", "contacts_7d", F.lit(settings.contact_cap).alias("contact_cap"),
                    "reason"))
