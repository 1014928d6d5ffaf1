"""The champions against the generator's planted truth: `make eval-models`.

The generator plants each person's propensities (data/truth/people.csv: p_extra_bag,
p_seat_purchase, p_insurance, p_upgrade, churn_risk). The oracle ranks the champion's holdout
customers by the planted probability of the model's target; its ROC AUC on the same customers and
labels is the bar the model is measured against (the issue's goal: within 0.02).

Customers are matched to persons through their CRM ids (silver.customers.customer_ids against the
truth's crm_id and duplicate_crm_id); a customer without a CRM id, or whose ids belong to several
persons (an over-merge), has no planted probability and is left out of both AUCs.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.errors import JobError
from jobs.models import tracking
from jobs.models.evaluation import roc_auc
from jobs.models.settings import model_settings
from jobs.models.spec import load_specs

# (target kind, category) -> the truth's planted probability of it
ORACLES = {("purchase", "extra_bag"): "p_extra_bag", ("purchase", "seat"): "p_seat_purchase",
           ("purchase", "insurance"): "p_insurance", ("purchase", "upgrade"): "p_upgrade",
           ("churn", None): "churn_risk"}


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


def evaluate(spark: SparkSession, config: Config) -> list[dict]:
    import mlflow
    from mlflow.exceptions import MlflowException

    from jobs.models.train import HOLDOUT_ARTIFACT

    people_csv = config.paths.truth / "people.csv"
    if not people_csv.is_file():
        raise JobError(f"no generator truth at {people_csv}: eval-models needs generated data (make data)")
    people = pd.read_csv(people_csv, dtype={"crm_id": str, "duplicate_crm_id": str})
    customers = (spark.read.format("delta").load(str(config.paths.table("silver.customers")))
                 .select("customer_key", F.col("customer_ids")).toPandas())
    persons = persons_of_customers(customers, people)
    settings = model_settings(config)
    client = tracking.open_tracking(settings)
    out = []
    for spec in load_specs(settings.specs_dir):
        planted = ORACLES.get((spec.target.kind, spec.target.category))
        version = tracking.champion_version(client, spec.name)
        if planted is None or version is None:
            continue
        try:
            holdout = mlflow.load_table(HOLDOUT_ARTIFACT, run_ids=[version.run_id])
        except MlflowException:
            raise JobError(f"the champion of {spec.name} (v{version.version}) has no {HOLDOUT_ARTIFACT}: it was "
                           "trained before training logged holdout predictions; a new champion (make train on new data, or a fresh models.store) has it") from None
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
