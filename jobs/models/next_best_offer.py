"""Job choose_offers: the next best offer per scored customer as of a date, into gold.next_best_offer.

    python -m jobs run choose_offers [--date 2026-11-21]      # make offers (make score runs it too)

Reads the date's propensity scores (gold.customer_scores: per category, its attach model's score,
else its purchase model's; one offer per category), consent and usual contact hour (gold.customer_360), age
(silver.customers), campaign history (silver.campaign_events: response rates and recent sends)
and item prices (silver.order_items and silver.orders); past bookings (customer_360's order states
as of the date) set each category's scale to one offer; offers made on earlier days count towards
the contact cap. The choice is jobs/models/offers.py. The date's rows are replaced as a whole,
so re-running a date is safe.
"""

from __future__ import annotations

import datetime as dt
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import registry
from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.errors import JobError
from jobs.common.publication import input_version
from jobs.common.results import JobResult, utc_now
from jobs.common.tables import ensure_table, latest_version, merge_state, read_table, table_exists
from jobs.gold.common import to_schema
from jobs.gold.customer_360 import order_states
from jobs.gold.settings import gold_settings
from jobs.models import offers
from jobs.models.settings import model_settings
from jobs.models.spec import load_specs

JOB = "choose_offers"
INPUTS = registry.get_job(JOB).inputs
(TABLE,) = registry.get_job(JOB).outputs
SCORES = "gold.customer_scores"


def latest_scored_date(scores: DataFrame) -> dt.date | None:
    return scores.agg(F.max("as_of_date")).first()[0]


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False) -> JobResult:
    """Offers as of the date (default: the latest date scored); --full-rebuild changes nothing."""
    started = time.monotonic()
    settings = model_settings(config)
    models = offers.offer_models(load_specs(settings.specs_dir))
    paths = {t: str(config.paths.table(t)) for t in INPUTS}
    missing = [t for t in INPUTS if not table_exists(spark, paths[t])]
    if missing:
        raise JobError(f"{JOB}: {', '.join(missing)} do not exist yet under {config.paths.lake}; "
                       "run the pipeline up to scoring first (make run, or make score after make train)")
    # customer_360 as gate_gold last published it; this stage's scores as score_customers just wrote them.
    versions = {t: input_version(config.paths.lake, t, registry.SCORING_TABLES) for t in INPUTS}
    unpublished = [t for t, v in versions.items() if v is None]
    if unpublished:
        raise JobError(f"{JOB}: {', '.join(unpublished)} has not passed its gate yet (nothing published to "
                       "read); run make gold, whose gate publishes it, then make score")
    read = {t: read_table(spark, paths[t], versions[t]) for t in INPUTS}
    as_of = logical_date or latest_scored_date(read[SCORES].where(F.col("model").isin(*models)))
    if as_of is None:
        raise JobError(f"{JOB}: {SCORES} holds no score of an offer model ({', '.join(sorted(models))}); "
                       "run make score first")

    propensities = offers.offer_propensities(read[SCORES], models, as_of)
    ages = read["silver.customers"].select(
        "customer_key", (F.lit(as_of.year) - F.col("birth_year")).alias("age"))
    customers = (read["gold.customer_360"].join(ages, "customer_key", "left")
                 .withColumn("response_group", offers.response_group(F.col("age"), F.col("channels_used"))))
    contacts = offers.campaign_contacts(read["silver.campaign_events"], as_of).localCheckpoint()
    fx_to_eur = gold_settings(config).fx_to_eur
    states = order_states(read["silver.touchpoints"], read["silver.order_items"], as_of, fx_to_eur)
    values = (offers.offer_values(read["silver.order_items"], read["silver.orders"], states, fx_to_eur,
                                  offers.offered_categories(models))
              .withColumnRenamed("category", "offer"))
    responses = offers.channel_response(contacts, customers.select("customer_key", "response_group"),
                                        settings.offers.response_prior)
    target = ensure_table(spark, config, table_schema(TABLE))
    past = read_table(spark, target, latest_version(target))
    recent = offers.recent_contacts(contacts, past, as_of, settings.offers.cap_days)

    categories = offers.offered_categories(models)
    scales = offers.per_offer_scale(propensities, offers.booking_rates(states, categories)).localCheckpoint()
    chosen = offers.choose_offers(customers, propensities, values, responses, recent, settings.offers, scales)
    state = (chosen.withColumn("as_of_date", F.lit(as_of)).withColumn("chosen_at", F.lit(utc_now())))
    state = to_schema(state, table_schema(TABLE), run_id).localCheckpoint()
    merged = merge_state(spark, target, state, ["customer_key", "as_of_date"],
                         scope=F.col("as_of_date") == F.lit(as_of), stamps=("chosen_at",))
    decisions = {r["decision"]: r["n"] for r in state.groupBy("decision").agg(F.count("*").alias("n")).collect()}
    result = JobResult(job=JOB, rows_in=sum(decisions.values()), rows_out=merged["inserted"] + merged["updated"],
                       seconds=time.monotonic() - started)
    result.details = {"as_of": str(as_of), "decisions": decisions, "input_versions": versions, **merged}
    return result
