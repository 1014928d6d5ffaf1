"""Job train_models: fit every model of models/*.yaml on point-in-time training sets, log each
run to MLflow, register it, and move the `champion` alias only to a better version.

    python -m jobs run train_models [--date 2026-11-21]       # make train

Per model (see jobs/models/training.py for the cutoffs):
1. stacked rows of the training cutoffs and of the holdout cutoff; refused (not registered, the
   job goes on with the next model) when either has fewer positives or negatives than
   models.min_positives;
2. the Spark ML pipeline fitted on the training cutoffs, scored on the holdout;
3. one MLflow run: parameters, ROC AUC / PR AUC / log loss / Brier on the holdout, calibration
   and lift/gains plots, feature importances, the model with its signature and an input example,
   and the Delta version of every silver input as tags (`input_version.<table>`), which with the
   as-of date and seed reproduce the run exactly;
4. registered as a new version; the champion (if any) is scored on the same holdout and the
   alias moves only when the new version beats it by models.promotion_margin; the decision and
   both scores are logged on the run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.common.config import Config
from jobs.common.errors import JobError, first_line
from jobs.common.results import JobResult
from jobs.gold.common import default_as_of
from jobs.gold.customer_360 import open_silver
from jobs.gold.settings import gold_settings
from jobs.models import evaluation, lifetime_value, tracking
from jobs.models.algorithms import build_pipeline, feature_importances
from jobs.models.features import usable_features
from jobs.models.settings import ModelSettings, model_settings
from jobs.models.spec import ModelSpec, load_specs, target_categories, validate_specs
from jobs.models.training import (
    FeatureFrames,
    ModelRefused,
    check_signal,
    check_support,
    labelled_rows,
    plan_cutoffs,
    prepared,
    split_features,
)

log = logging.getLogger(__name__)

JOB = "train_models"
HOLDOUT_ARTIFACT = "evaluation/holdout_predictions.json"
FIT_PARTITIONS = 8


def probability(df: DataFrame) -> DataFrame:
    """The positive class's probability as `score`."""
    from pyspark.ml.functions import vector_to_array

    return df.withColumn("score", vector_to_array(F.col("probability"))[1])


def holdout_predictions(model, holdout: DataFrame, row_key: str):
    """customer_key (and a visitor's anonymous_id), label, score of every holdout row, ordered by
    the row key (collected: a holdout is one row per eligible customer or visitor)."""
    keys = list(dict.fromkeys(("customer_key", row_key)))
    rows = probability(model.transform(holdout)).select(*keys, "label", "score").orderBy(row_key)
    return rows.toPandas()


def holdout_scores(model, holdout: DataFrame, row_key: str):
    """(labels, scores) of the holdout."""
    pdf = holdout_predictions(model, holdout, row_key)
    return pdf["label"].to_numpy(), pdf["score"].to_numpy()


def model_requirements() -> list[str]:
    """What serving a model needs, stated: MLflow would otherwise infer it by exporting the whole
    project lock (about 20 s per model)."""
    import importlib.metadata as md

    return [f"{name}=={md.version(name)}" for name in ("pyspark", "mlflow", "numpy", "pandas")]


def judge_against_champion(client, spec: ModelSpec, holdout: DataFrame, challenger_auc: float, as_of: dt.date,
                           margin: float) -> tracking.Decision:
    """The champion rule with the champion scored on the challenger's holdout. A champion trained
    as of a later date may have learnt this holdout's labels: no fair comparison, so a run as of
    an earlier date (a backfill) keeps it. A champion that cannot score the holdout (it reads a
    feature the frame no longer has) is replaced."""
    import mlflow.spark

    champion = tracking.champion_version(client, spec.name)
    if champion is None:
        return tracking.decide(challenger_auc, None, None, margin)
    trained_as_of = client.get_run(champion.run_id).data.tags.get("as_of_date")
    if trained_as_of and dt.date.fromisoformat(trained_as_of) > as_of:
        return tracking.Decision(False, f"champion v{champion.version} was trained as of a later date "
                                        f"({trained_as_of}); kept", challenger_auc, None, str(champion.version))
    try:
        old = mlflow.spark.load_model(tracking.champion_uri(spec.name))
        champion_auc = evaluation.roc_auc(*holdout_scores(old, holdout, spec.target.row_key))
    except Exception as exc:  # noqa: BLE001 - whatever stops the old model, the new one can serve
        log.warning("%s: champion v%s of %s cannot score this holdout (%s); the new version replaces it",
                    JOB, champion.version, spec.name, first_line(exc))
        return tracking.decide(challenger_auc, None, None, margin)
    return tracking.decide(challenger_auc, champion_auc, str(champion.version), margin)


def train_one(spark: SparkSession, spec: ModelSpec, frames: FeatureFrames, kinds: dict[str, str],
              settings: ModelSettings, client, as_of: dt.date, first_day: dt.date | None,
              versions: dict[str, int], run_id: str) -> dict:
    import mlflow
    import mlflow.spark
    from mlflow.models import infer_signature

    started = time.monotonic()
    cutoffs = plan_cutoffs(spec, as_of, first_day)
    if not cutoffs.training:
        raise ModelRefused(f"model '{spec.name}' ({spec.source}) refused: no training cutoff falls inside the data "
                           f"(as of {as_of}, horizon {spec.horizon_days} days, holdout cutoff {cutoffs.holdout}); "
                           f"it needs at least {2 * spec.horizon_days + 1} days of history")
    # A fixed partitioning and order before fitting: tree sampling and bootstrap draw rows by their
    # position in a partition, which a shuffle on a cluster would otherwise change run to run.
    rows = (prepared(labelled_rows(frames, spec, (*cutoffs.training, cutoffs.holdout)), kinds, extra=("label",))
            .repartition(FIT_PARTITIONS, spec.target.row_key).sortWithinPartitions("cutoff_date", spec.target.row_key)
            .localCheckpoint())
    counts = {(r["cutoff_date"], r["label"]): r["n"] for r in rows.groupBy("cutoff_date", "label")
              .agg(F.count(F.lit(1)).alias("n")).collect()}
    train_pos = sum(n for (c, y), n in counts.items() if c != cutoffs.holdout and y == 1)
    train_rows = sum(n for (c, _y), n in counts.items() if c != cutoffs.holdout)
    hold_pos = counts.get((cutoffs.holdout, 1), 0)
    hold_rows = hold_pos + counts.get((cutoffs.holdout, 0), 0)
    check_support(spec, "training set", train_pos, train_rows, settings.min_positives)
    check_support(spec, f"holdout (cutoff {cutoffs.holdout})", hold_pos, hold_rows, settings.min_positives)

    numeric, categorical = split_features(spec, kinds)
    train = rows.where(F.col("cutoff_date") != F.lit(cutoffs.holdout))
    holdout = rows.where(F.col("cutoff_date") == F.lit(cutoffs.holdout))
    pipeline = build_pipeline(spec.algorithm, spec.params, numeric, categorical, settings.seed)
    model = pipeline.fit(train)
    predictions = holdout_predictions(model, holdout, spec.target.row_key)
    labels, scores = predictions["label"].to_numpy(), predictions["score"].to_numpy()
    scored = evaluation.metrics(labels, scores)
    check_signal(spec, scored["roc_auc"], settings.min_roc_auc, cutoffs.holdout)
    table = evaluation.deciles(labels, scores)
    importances = feature_importances(numeric, categorical, model)

    decision = judge_against_champion(client, spec, holdout, scored["roc_auc"], as_of,
                                      settings.promotion_margin)

    inputs = [*numeric, *categorical]
    example = holdout.orderBy(spec.target.row_key).select(*inputs).limit(5).toPandas()
    signature = infer_signature(example, scores[:len(example)])   # predictions are in row-key order too
    with mlflow.start_run(run_name=f"{spec.name} as of {as_of}") as run:
        mlflow.set_tags({
            "model": spec.name, "pipeline_run_id": run_id, "as_of_date": str(as_of),
            "target": spec.target.description, "spec_file": spec.source,
            **{f"input_version.{t}": str(v) for t, v in sorted(versions.items())}})
        mlflow.log_params({
            "algorithm": spec.algorithm, **{f"param.{k}": v for k, v in sorted(spec.params.items())},
            "horizon_days": spec.horizon_days, "eligibility": spec.eligibility, "seed": settings.seed,
            "training_cutoffs": ",".join(str(c) for c in cutoffs.training), "holdout_cutoff": str(cutoffs.holdout),
            "features": ",".join(spec.features), "training_rows": train_rows, "training_positives": train_pos})
        mlflow.log_metrics({k: v for k, v in scored.items()})
        if decision.champion_auc is not None:
            mlflow.log_metric("champion_roc_auc", decision.champion_auc)
        mlflow.log_dict({"deciles": [d.__dict__ for d in table]}, "evaluation/deciles.json")
        mlflow.log_dict(importances, "evaluation/feature_importances.json")
        # Pseudonymous keys only: what `make eval-models` compares with the generator's truth.
        mlflow.log_table(predictions.assign(cutoff_date=str(cutoffs.holdout)), HOLDOUT_ARTIFACT)
        mlflow.log_figure(evaluation.calibration_figure(labels, scores, spec.name), "plots/calibration.png")
        mlflow.log_figure(evaluation.gains_figure(table, spec.name), "plots/lift_gains.png")
        info = mlflow.spark.log_model(model, artifact_path="model", signature=signature, input_example=example,
                                      pip_requirements=model_requirements())
        version = mlflow.register_model(info.model_uri, spec.name, tags={"pipeline_run_id": run_id})
        mlflow.set_tags({"registered_version": version.version, "promotion": "promoted" if decision.promote
                         else "kept champion", "promotion_reason": decision.reason})
        if decision.promote:
            client.set_registered_model_alias(spec.name, tracking.CHAMPION, version.version)
        client.update_registered_model(spec.name, description=spec.description)
    log.info("%s: %s v%s holdout ROC AUC %.4f (%d rows, %d positives); %s", JOB, spec.name, version.version,
             scored["roc_auc"], hold_rows, hold_pos, decision.reason)
    return {"version": str(version.version), "roc_auc": round(scored["roc_auc"], 4), "promoted": decision.promote,
            "reason": decision.reason, "mlflow_run_id": run.info.run_id,
            "seconds": round(time.monotonic() - started, 1)}


def run(spark: SparkSession, config: Config, *, run_id: str, logical_date: dt.date | None = None,
        full_rebuild: bool = False, models: str | None = None) -> JobResult:
    """Train every model of models/*.yaml and the CLV model (or the comma-separated `models`);
    --full-rebuild changes nothing here."""
    started = time.monotonic()
    settings = model_settings(config)
    specs = load_specs(settings.specs_dir)
    wanted: list[str] = []
    if models:
        wanted = [m.strip() for m in models.split(",") if m.strip()]
        unknown = [m for m in wanted if m not in {s.name for s in specs} | {lifetime_value.NAME}]
        if unknown:
            raise JobError(f"{JOB}: unknown model(s) {', '.join(unknown)}; known: {', '.join(s.name for s in specs)}")
        specs = tuple(s for s in specs if s.name in wanted)
    silver, versions, paths = open_silver(spark, config, JOB)
    gold = gold_settings(config)
    frames = FeatureFrames(silver, gold, target_categories(specs))
    schemas = frames.schemas()
    validate_specs(spark, specs, schemas)
    kinds = {population: usable_features(schema) for population, schema in schemas.items()}
    as_of = logical_date or default_as_of(spark, paths["silver.touchpoints"])
    first = silver.touchpoints.agg(F.min("occurred_date").alias("d")).first()["d"]
    client = tracking.open_tracking(settings)
    outcomes: dict[str, dict] = {}
    for spec in specs:
        try:
            outcomes[spec.name] = train_one(spark, spec, frames, kinds[spec.target.population], settings, client,
                                            as_of, first, versions, run_id)
        except ModelRefused as exc:
            log.warning("%s: %s", JOB, exc)
            outcomes[spec.name] = {"refused": str(exc)}
    if not models or lifetime_value.NAME in wanted:
        try:
            outcomes[lifetime_value.NAME] = lifetime_value.train(frames, as_of, client, versions, run_id,
                                                                 model_requirements(), settings.min_positives)
        except (ValueError, RuntimeError) as exc:   # too few buyers, input the fit rejects, no convergence
            log.warning("%s: model 'clv' refused: %s", JOB, exc)
            outcomes[lifetime_value.NAME] = {"refused": f"model 'clv' refused: {exc}"}
    trained = [n for n, o in outcomes.items() if "version" in o]
    result = JobResult(job=JOB, rows_in=len(outcomes), rows_out=len(trained), seconds=time.monotonic() - started)
    result.details = {"as_of": str(as_of), "trained": len(trained), "refused": len(outcomes) - len(trained),
                      "promoted": sum(1 for o in outcomes.values() if o.get("promoted")),
                      "models": outcomes}
    log.info("%s: %s", JOB, json.dumps(outcomes, default=str))
    return result
