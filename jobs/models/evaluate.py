"""The champions and the offers against the generator's planted truth: `make eval-models`.

The generator plants each person's propensities (data/truth/people.csv: p_extra_bag,
p_seat_purchase, p_insurance, p_upgrade, churn_risk). The oracle ranks the champion's holdout
customers by the planted probability of the model's target; its ROC AUC on the same customers and
labels is the bar the model is measured against (the issue's goal: within 0.02).

An anonymous-visitor model has no planted probability: its oracle ranks devices by the
sign-ins and purchases the generator's process should bring from the person's planted traits
(`visitor_oracle`); devices are matched to persons through the truth's identifiers.

Customers are matched to persons through their CRM ids (silver.customers.customer_ids against the
truth's crm_id and duplicate_crm_id); a customer without a CRM id, or whose ids belong to several
persons (an over-merge), has no planted probability and is left out of both AUCs.

The next best offer is judged by the planted acceptance probability of an offer of category c on
channel ch, p_<c> x p_respond_<ch> (the truth's people.csv), times the offer's value: over the
customers given an offer on the latest date, the share of the oracle's gain over a random offer
(uniform over the offers scored for the customer and their consented channels) that the chosen
offers capture. The oracle picks the best planted offer among those same options.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.errors import JobError
from jobs.gold.customer_360 import order_states
from jobs.gold.settings import gold_settings
from jobs.models import tracking
from jobs.models.evaluation import roc_auc
from jobs.models.settings import model_settings
from jobs.models.spec import load_specs
from jobs.models.targets import CATEGORY_KINDS, VISITORS

# item category -> the truth's planted probability that a booking holds it (purchase and attach targets)
PLANTED_CATEGORY = {"extra_bag": "p_extra_bag", "seat": "p_seat_purchase", "insurance": "p_insurance",
                    "upgrade": "p_upgrade"}


VISITOR_ORACLE = "visitor_expected_conversions"   # computed from planted traits (visitor_oracle)


def planted_column(target) -> str | None:
    """The truth's planted probability of a model's target, if the generator records one."""
    if target.kind in CATEGORY_KINDS:
        return PLANTED_CATEGORY.get(target.category)
    if target.population == VISITORS:
        return VISITOR_ORACLE
    return "churn_risk" if target.kind == "churn" else None


def visitor_oracle(people: pd.DataFrame, cutoff: dt.date, horizon_days: int) -> pd.Series:
    """How many sign-ins and purchases an anonymous device of each person should bring in the
    horizon, from the generator's own process and the person's planted traits (pure): sessions on
    one device arrive in proportion to activity / n_devices while the person is active (not
    churned); each session of an account holder (by the horizon's end) signs in with chance
    SIGN_IN, and any session buys with the generator's `buy_chance`. The ranking is what matters:
    the constant session rate drops out of the AUC.

    people: the truth's people.csv rows (activity, n_devices, segment, crm_id, crm_created_date,
    churned_at)."""
    from jobs.generate.events import FIRST_MEAN_SESSION, SIGN_IN, buy_chance

    end = pd.Timestamp(cutoff + dt.timedelta(days=horizon_days))
    start = pd.Timestamp(cutoff)
    churned = pd.to_datetime(people["churned_at"], errors="coerce").dt.tz_localize(None)
    active_share = ((churned - start).dt.days.clip(lower=0, upper=horizon_days) / horizon_days).fillna(1.0)
    member = pd.to_datetime(people["crm_created_date"], errors="coerce") <= end
    buys = pd.Series([buy_chance(FIRST_MEAN_SESSION, business, has_account) for business, has_account in
                      zip(people["segment"].eq("business"), people["crm_id"].notna(), strict=True)],
                     index=people.index)
    per_session = buys + member.astype(float) * SIGN_IN
    return active_share * people["activity"] / people["n_devices"] * per_session


def persons_of_devices(identifiers: pd.DataFrame) -> pd.DataFrame:
    """anonymous_id -> person_id for devices of one person (kiosks left out) (pure)."""
    devices = identifiers[(identifiers["identifier_type"] == "anonymous_id") & identifiers["shared_kind"].isna()]
    return devices.rename(columns={"identifier_value": "anonymous_id"})[["anonymous_id", "person_id"]]


def persons_of_customers(customers: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """customer_key -> person_id through CRM ids; customers spanning several persons dropped (pure)."""
    ids = pd.concat([people[["person_id", "crm_id"]],
                     people[["person_id", "duplicate_crm_id"]].rename(columns={"duplicate_crm_id": "crm_id"})])
    ids = ids.dropna().astype({"crm_id": str})
    links = customers.explode("customer_ids").dropna().rename(columns={"customer_ids": "crm_id"})
    matched = links.merge(ids, on="crm_id").drop_duplicates(["customer_key", "person_id"])
    single = matched.groupby("customer_key")["person_id"].nunique()
    return matched[matched["customer_key"].isin(single[single == 1].index)][["customer_key", "person_id"]] \
        .drop_duplicates()


def planted_people(spark: SparkSession, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the truth's people.csv, customer_key -> person_id)."""
    people_csv = config.paths.truth / "people.csv"
    if not people_csv.is_file():
        raise JobError(f"no generator truth at {people_csv}: eval-models needs generated data (make data)")
    people = pd.read_csv(people_csv, dtype={"crm_id": str, "duplicate_crm_id": str})
    customers = (spark.read.format("delta").load(str(config.paths.table("silver.customers")))
                 .select("customer_key", F.col("customer_ids")).toPandas())
    return people, persons_of_customers(customers, people)


def evaluate(spark: SparkSession, config: Config) -> list[dict]:
    import mlflow
    from mlflow.exceptions import MlflowException

    from jobs.models.train import HOLDOUT_ARTIFACT

    people, persons = planted_people(spark, config)
    settings = model_settings(config)
    client = tracking.open_tracking(settings)
    out = []
    for spec in load_specs(settings.specs_dir):
        planted = planted_column(spec.target)
        version = tracking.champion_version(client, spec.name)
        if planted is None or version is None:
            continue
        try:
            holdout = mlflow.load_table(HOLDOUT_ARTIFACT, run_ids=[version.run_id])
        except MlflowException:
            raise JobError(f"the champion of {spec.name} (v{version.version}) has no {HOLDOUT_ARTIFACT}: it was "
                           "trained before training logged holdout predictions; a new champion (make train on new data, or a fresh models.store) has it") from None
        if spec.target.population == VISITORS:
            identifiers = pd.read_csv(config.paths.truth / "identifiers.csv", dtype=str)
            rows = holdout.merge(persons_of_devices(identifiers), on="anonymous_id").merge(people, on="person_id")
            cutoff = dt.date.fromisoformat(str(holdout["cutoff_date"].iloc[0]))
            rows[planted] = visitor_oracle(rows, cutoff, spec.horizon_days)
        else:
            rows = holdout.merge(persons, on="customer_key").merge(people[["person_id", planted]], on="person_id")
        out.append({"model": spec.name, "version": version.version, "planted": planted,
                    "holdout_customers": len(holdout), "matched": len(rows), "positives": int(rows["label"].sum()),
                    "model_auc": roc_auc(rows["label"], rows["score"]),
                    "oracle_auc": roc_auc(rows["label"], rows[planted])})
    return out


def report(results: list[dict]) -> str:
    if not results:
        return "no champion with a planted truth to compare (run make train on generated data)"
    lines = [f"{'model':<24}{'v':>3}{'holdout':>9}{'matched':>9}{'pos':>6}{'model AUC':>11}{'oracle AUC':>12}"
             f"{'gap':>8}  planted"]
    for r in results:
        gap = r["model_auc"] - r["oracle_auc"]
        lines.append(f"{r['model']:<24}{r['version']:>3}{r['holdout_customers']:>9}{r['matched']:>9}"
                     f"{r['positives']:>6}{r['model_auc']:>11.4f}{r['oracle_auc']:>12.4f}{gap:>+8.4f}  {r['planted']}")
    return "\n".join(lines)


def offer_gain(options: pd.DataFrame, chosen: pd.DataFrame) -> dict:
    """Planted gain of the chosen offers against the oracle's and a random offer's (pure).

    options: customer_key, offer, channel, planted_gain (every offer scored for the customer on
             every consented channel: acceptance probability x value)
    chosen:  customer_key, offer, channel (the next best offer)"""
    picked = chosen.merge(options, on=["customer_key", "offer", "channel"])
    per_customer = options.groupby("customer_key")["planted_gain"]
    kept = per_customer.max().index.isin(picked["customer_key"])
    oracle = per_customer.max()[kept].sum()
    random = per_customer.mean()[kept].sum()
    policy = picked["planted_gain"].sum()
    return {"customers": int(kept.sum()), "policy_gain": policy, "oracle_gain": oracle, "random_gain": random,
            "captured": (policy - random) / (oracle - random) if oracle > random else float("nan")}


def evaluate_offers(spark: SparkSession, config: Config) -> dict | None:
    """The latest date's offers scored with the planted acceptance probabilities; None without offers."""
    from jobs.common.tables import table_exists
    from jobs.models import next_best_offer, offers
    from jobs.models.next_best_offer import TABLE

    path = str(config.paths.table(TABLE))
    if not table_exists(spark, path):
        return None
    made = spark.read.format("delta").load(path)
    as_of = made.agg(F.max("as_of_date")).first()[0]
    if as_of is None:
        return None
    people, persons = planted_people(spark, config)
    models = offers.offer_models(load_specs(model_settings(config).specs_dir))
    made = made.where(F.col("as_of_date") == F.lit(as_of)).where(F.col("decision") == offers.OFFER)
    chosen = made.select("customer_key", "offer", "channel").toPandas()
    channels = made.select("customer_key", F.explode("consented_channels").alias("channel")).toPandas()
    scores = spark.read.format("delta").load(str(config.paths.table(next_best_offer.SCORES)))
    scored = offers.offer_propensities(scores, models, as_of).select("customer_key", "offer").toPandas()
    silver = {t: spark.read.format("delta").load(str(config.paths.table(t)))
              for t in ("silver.order_items", "silver.orders", "silver.touchpoints")}
    fx_to_eur = gold_settings(config).fx_to_eur
    states = order_states(silver["silver.touchpoints"], silver["silver.order_items"], as_of, fx_to_eur)
    values = (offers.offer_values(silver["silver.order_items"], silver["silver.orders"], states, fx_to_eur,
                                  offers.offered_categories(models))
              .toPandas().set_index("category")["offer_value_eur"])
    planted = PLANTED_CATEGORY
    options = scored.merge(channels, on="customer_key").merge(persons, on="customer_key")
    options = options[options["offer"].isin(values.index) & options["offer"].isin(planted)]
    people = people.set_index("person_id")
    options = options.assign(
        planted_gain=[people.at[pid, planted[o]] * people.at[pid, f"p_respond_{ch}"] * values[o]
                      for pid, o, ch in zip(options["person_id"], options["offer"], options["channel"], strict=True)])
    return {"as_of": str(as_of), **offer_gain(options, chosen)}


def offers_report(result: dict | None) -> str:
    if result is None:
        return "no next best offers to judge (run make score on generated data)"
    return (f"next best offer as of {result['as_of']}: {result['customers']} offered customers matched to persons; "
            f"planted gain chosen {result['policy_gain']:.1f}, oracle {result['oracle_gain']:.1f}, "
            f"random consented offer {result['random_gain']:.1f}: captures {result['captured']:.1%} "
            f"of the oracle's gain over random (goal: 80%)")


def cli(args, config: Config) -> int:
    """`python -m jobs eval-models`."""
    from jobs.runner import spark_for

    spark = spark_for(config)
    print(report(evaluate(spark, config)))
    print(offers_report(evaluate_offers(spark, config)))
    return 0
