"""Job score_customers: every champion model applied to its eligible customers (or, for a
visitor model, anonymous visitors) as of a date, into gold.customer_scores.

    python -m jobs run score_customers [--date 2026-11-21]      # make score

Features are computed as of the date with the same code as training (jobs/models/features.py);
each model's champion version is loaded from the MLflow registry and scores the customers its
eligibility selects. Deciles rank customers within a model and date (1 = highest 10%), from
approximate quantiles computed in Spark (no ranking of every row on one partition). The rows of
the date are replaced as a whole (MERGE scoped to the date): re-scoring is safe, and the same
champion on the same silver versions gives the same scores, so a re-run rewrites no row and the
first scored_at stays. A model without a champion is skipped with a warning; no champion at all
stops the job with what to run (`make train`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.errors import JobError
from jobs.common.results import JobResult, utc_now
from jobs.common.tables import ensure_table, merge_state
from jobs.gold.common import default_as_of, to_schema, union_all
from jobs.gold.customer_360 import open_silver
from jobs.gold.settings import gold_settings
from jobs.models import lifetime_value, tracking
from jobs.models.features import usable_features
from jobs.models.settings import model_settings
from jobs.models.spec import load_specs, target_categories
from jobs.models.train import probability
from jobs.models.training import FeatureFrames, prepared

log = logging.getLogger(__name__)

JOB = "score_customers"
TABLE = "gold.customer_scores"
DECILE_ERROR = 0.0005      # relative error of the decile boundaries (approxQuantile)


def decile_column(score: Column, bounds: list[float]) -> Column:
    """1 for scores at or above the 90th percentile ... 10 below the 10th (bounds ascending)."""
    above = sum((score >= F.lit(b)).cast("int") for b in bounds) if bounds else F.lit(0)
    return (F.lit(10) - above).cast("int")


def with_deciles(scored: DataFrame) -> DataFrame:
    bounds = scored.approxQuantile("score", [i / 10 for i in range(1, 10)], DECILE_ERROR)
    return scored.withColumn("decile", decile_column(F.col("score"), bounds))


def checked_count(scored: DataFrame, model: str) -> int:
    """Rows of a model's scores; a missing or NaN score stops the job naming the model, before any
    write (gold.customer_scores.score is NOT NULL, and a NaN would rank first in every decile)."""
    row = scored.agg(F.count(F.lit(1)).alias("rows"),
                     F.sum((F.col("score").isNull() | F.isnan("score")).cast("int")).alias("bad")).first()
    if row["bad"]:
        raise JobError(f"{JOB}: model '{model}' gave no score for {row['bad']:,} of {row['rows']:,} customers "
                       "(null or NaN); nothing was written. Check its features for the date, or retrain it "
                       "(make train)")
    return row["rows"]


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False) -> JobResult:
    """Score as of the date (default: the latest day silver holds); --full-rebuild changes nothing."""
    import mlflow.spark

    started = time.monotonic()
    settings = model_settings(config)
    specs = load_specs(settings.specs_dir)
    client = tracking.open_tracking(settings)
    champions = {name: tracking.champion_version(client, name)
                 for name in (*(s.name for s in specs), lifetime_value.NAME)}
    missing = [name for name, version in champions.items() if version is None]
    if len(missing) == len(champions):
        raise tracking.NoChampion(f"{JOB}: no model has a registered champion in the MLflow store "
                                  f"({settings.tracking_uri}); run `make train` first")
    for name in missing:
        log.warning("%s: model '%s' has no champion yet (refused or never trained): not scored; run `make train`",
                    JOB, name)

    silver, versions, paths = open_silver(spark, config, JOB)
    as_of = logical_date or default_as_of(spark, paths["silver.touchpoints"])
    frames = FeatureFrames(silver, gold_settings(config), target_categories(specs))
    scored_at = utc_now()
    parts, counts = [], {}
    for spec in specs:
        version = champions[spec.name]
        if version is None:
            continue
        model = mlflow.spark.load_model(f"models:/{spec.name}/{version.version}")
        features = frames.at(as_of, spec.target.population)
        rows = prepared(features.where(F.expr(spec.eligibility)), usable_features(features.schema))
        scored = probability(model.transform(rows)).select("customer_key", "score")
        if spec.target.row_key != "customer_key":   # a key's several anonymous devices: the likeliest
            scored = scored.groupBy("customer_key").agg(F.max("score").alias("score"))
        scored = scored.localCheckpoint()
        counts[spec.name] = checked_count(scored, spec.name)
        parts.append(with_deciles(scored).withColumn("model", F.lit(spec.name))
                     .withColumn("model_version", F.lit(str(version.version))))
    parts = [p.withColumn("p_alive", F.lit(None).cast("double"))
             .withColumn("expected_purchases_365d", F.lit(None).cast("double")) for p in parts]
    version = champions[lifetime_value.NAME]
    if version is not None:
        values = lifetime_value.score(spark, frames.at(as_of), version).localCheckpoint()
        counts[lifetime_value.NAME] = checked_count(values, lifetime_value.NAME)
        parts.append(with_deciles(values).withColumn("model", F.lit(lifetime_value.NAME))
                     .withColumn("model_version", F.lit(str(version.version))))
    state = (union_all(parts)
             .withColumn("as_of_date", F.lit(as_of)).withColumn("scored_at", F.lit(scored_at)))
    state = to_schema(state, table_schema(TABLE), run_id).localCheckpoint()
    target = ensure_table(spark, config, table_schema(TABLE))
    merged = merge_state(spark, target, state, ["customer_key", "model", "as_of_date"],
                         scope=F.col("as_of_date") == F.lit(as_of), stamps=("scored_at",))
    rows = sum(counts.values())
    result = JobResult(job=JOB, rows_in=rows, rows_out=merged["inserted"] + merged["updated"],
                       seconds=time.monotonic() - started)
    result.details = {"as_of": str(as_of), "models": len(counts), "customers_scored": counts,
                      "input_versions": versions, **merged}
    return result
