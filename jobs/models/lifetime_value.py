"""Customer lifetime value on Spark data: BG/NBD and Gamma-Gamma (jobs/models/clv.py) fitted on
the RFM summary customer_360 computes (days; buy-till-you-die convention), logged and
registered in MLflow as the model `clv`, and applied when scoring.

Scale: BG/NBD never sees one row per customer: Spark groups buyers by (frequency, recency, T)
(bounded by the days of history, whatever the number of customers) and the fit weights each
distinct row by its count. Gamma-Gamma sees repeat buyers grouped by (frequency, value to the
cent), close to one row per repeat buyer: a minority of customers, still collected. Scoring computes the BG/NBD predictions on the distinct triples on the driver and joins
them back; the Gamma-Gamma expectation is a column expression.

Validation (the plot on every run): fitted on the history up to `as_of - HOLDOUT_DAYS` (a third
of most buyers' history when that is shorter), the expected repeat purchase days over those days
against those that happened, by calibration-period frequency. Too few buyers before the holdout:
the run is tagged `holdout_check: skipped` and the fit still registered.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict

import mlflow.pyfunc
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.gold.customer_360 import order_states
from jobs.models import clv
from jobs.models.training import FeatureFrames

log = logging.getLogger(__name__)

NAME = "clv"
HORIZON_DAYS = 365        # expected purchases and value are over the next year
HOLDOUT_DAYS = 14         # validation: predicted against actual repeat purchase days (at most a third of the history)


class ClvModel(mlflow.pyfunc.PythonModel):
    """The fitted parameters as an MLflow Python model: predict() takes frequency, recency, T (days)
    and monetary_value (EUR) and returns p_alive, expected purchases and value over HORIZON_DAYS."""

    def __init__(self, bg: clv.BgNbdParams, gg: clv.GammaGammaParams):
        self.bg, self.gg = bg, gg

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        f, r, t = (model_input[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        m = model_input["monetary_value"].to_numpy(float)
        purchases = clv.expected_purchases(self.bg, HORIZON_DAYS, f, r, t)
        return pd.DataFrame({"p_alive": clv.probability_alive(self.bg, f, r, t),
                             "expected_purchases": purchases,
                             "expected_value": purchases * clv.expected_average_value(self.gg, f, m)})


def buyers(features: DataFrame) -> DataFrame:
    """The RFM summary of every buyer: frequency, recency, T (days), monetary_value (EUR)."""
    return features.where(F.col("rfm_frequency").isNotNull()).select(
        "customer_key", F.col("rfm_frequency").cast("double").alias("frequency"),
        F.col("rfm_recency_days").cast("double").alias("recency"),
        F.col("rfm_t_days").cast("double").alias("T"),
        F.col("rfm_monetary_eur").cast("double").alias("monetary_value"))


def fit(rfm: DataFrame, minimum: int) -> tuple[clv.BgNbdParams, clv.GammaGammaParams, dict]:
    """Both fits on compressed rows; ValueError with fewer than `minimum` buyers or repeat buyers
    (models.min_positives, the classifiers' floor)."""
    triples = rfm.groupBy("frequency", "recency", "T").agg(F.count(F.lit(1)).alias("n")).toPandas()
    # Repeat buyers whose repeat days are worth nothing in EUR (free orders, a currency without a
    # rate) tell Gamma-Gamma nothing about spend: left out of its fit, counted.
    values = (rfm.where((F.col("frequency") > 0) & (F.col("monetary_value") > 0))
              .groupBy("frequency", F.round("monetary_value", 2).alias("monetary_value"))
              .agg(F.count(F.lit(1)).alias("n")).toPandas())
    n_buyers, n_repeat = int(triples["n"].sum()), int(values["n"].sum()) if len(values) else 0
    if n_buyers < minimum or n_repeat < minimum:
        raise ValueError(f"{n_buyers} buyers and {n_repeat} repeat buyers, fewer than models.min_positives = "
                         f"{minimum} of one of them; give it more days of data")
    bg = clv.fit_bgnbd(triples["frequency"], triples["recency"], triples["T"], weights=triples["n"])
    gg = clv.fit_gamma_gamma(values["frequency"], values["monetary_value"], weights=values["n"])
    if gg.q <= 1:   # the population's mean spend p v / (q - 1) would be infinite or negative
        raise ValueError(f"Gamma-Gamma fit gives q = {gg.q:.3f} <= 1 (no finite mean spend); more repeat buyers needed")
    return bg, gg, {"buyers": n_buyers, "repeat_buyers": n_repeat, "distinct_rfm_rows": len(triples)}


def repeat_days_between(frames: FeatureFrames, start: dt.date, end: dt.date) -> DataFrame:
    """Purchase days per customer after `start` up to `end` (completed orders, as of `end`)."""
    orders = order_states(frames.silver.touchpoints, frames.silver.order_items, end, frames.settings.fx_to_eur)
    return (orders.where((F.col("status") == "completed") & (F.col("purchase_date") > F.lit(start)))
            .groupBy("customer_key").agg(F.countDistinct("purchase_date").alias("actual")))


def holdout_days(rfm: DataFrame) -> int:
    """HOLDOUT_DAYS, or a third of the history most buyers have (90th percentile of T) when that is
    shorter, at least one day. T, not the earliest event: a late file of very old events must not
    make a week of data look like years."""
    t90 = rfm.approxQuantile("T", [0.9], 0.01)
    return max(1, min(HOLDOUT_DAYS, int(t90[0]) // 3 if t90 else HOLDOUT_DAYS))


def holdout_check(frames: FeatureFrames, as_of: dt.date, days: int, minimum: int) -> tuple[pd.DataFrame, dict]:
    """Fit as of as_of - days; per calibration frequency, mean predicted and actual repeat
    purchase days over those days."""
    cutoff = as_of - dt.timedelta(days=days)
    rfm = buyers(frames.at(cutoff))
    bg, _gg, _ = fit(rfm, minimum)
    actual = repeat_days_between(frames, cutoff, as_of)
    pdf = rfm.join(actual, "customer_key", "left").fillna({"actual": 0}).select(
        "frequency", "recency", "T", "actual").toPandas()
    pdf["predicted"] = clv.expected_purchases(bg, days, pdf["frequency"], pdf["recency"], pdf["T"])
    pdf["bucket"] = np.minimum(pdf["frequency"], 6).astype(int)
    table = pdf.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                      predicted=("predicted", "mean")).reset_index()
    return table, {"holdout_actual_purchases": float(pdf["actual"].sum()),
                   "holdout_predicted_purchases": float(pdf["predicted"].sum()),
                   "holdout_mae_per_customer": float(np.mean(np.abs(pdf["actual"] - pdf["predicted"])))}


def holdout_figure(table: pd.DataFrame, days: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    labels = [f"{b}{'+' if b == 6 else ''}" for b in table["bucket"]]
    x = np.arange(len(labels))
    ax.bar(x - 0.2, table["actual"], width=0.4, label="actual")
    ax.bar(x + 0.2, table["predicted"], width=0.4, label="predicted (BG/NBD)")
    ax.set_xticks(x, labels)
    ax.set_xlabel("repeat purchase days in the calibration period")
    ax.set_ylabel(f"mean purchase days in the next {days} days")
    ax.set_title("CLV: predicted against actual repeat purchases (holdout)")
    ax.legend()
    fig.tight_layout()
    return fig


def train(frames: FeatureFrames, as_of: dt.date, client, versions: dict[str, int], run_id: str,
          requirements: list[str], minimum: int) -> dict:
    """Fit on the whole history as of `as_of`, validate on the holdout, log and register; the new
    version becomes champion (CLV refits on all history: the latest fit is the best informed)."""
    import mlflow
    from mlflow.models import infer_signature

    from jobs.models import tracking

    rfm = buyers(frames.at(as_of))
    bg, gg, sizes = fit(rfm, minimum)
    days = holdout_days(rfm)
    try:
        table, checks = holdout_check(frames, as_of, days, minimum)
    except ValueError as exc:     # too few buyers before the holdout: the fit stands, unvalidated
        log.warning("clv: no holdout check (%s)", exc)
        table, checks = None, {}
    example = rfm.select("frequency", "recency", "T", "monetary_value").limit(5).toPandas()
    model = ClvModel(bg, gg)
    with mlflow.start_run(run_name=f"{NAME} as of {as_of}") as run:
        mlflow.set_tags({"model": NAME, "pipeline_run_id": run_id, "as_of_date": str(as_of),
                         **{f"input_version.{t}": str(v) for t, v in sorted(versions.items())}})
        mlflow.log_params({"time_unit": "day", "horizon_days": HORIZON_DAYS, "holdout_days": days,
                           **{f"bgnbd_{k}": round(v, 6) for k, v in asdict(bg).items()},
                           **{f"gamma_gamma_{k}": round(v, 6) for k, v in asdict(gg).items()}})
        mlflow.log_metrics({**checks, **{k: float(v) for k, v in sizes.items()}})
        if table is not None:
            mlflow.log_table(table, "evaluation/holdout_by_frequency.json")
            mlflow.log_figure(holdout_figure(table, days), "plots/predicted_vs_actual.png")
        else:
            mlflow.set_tag("holdout_check", "skipped: too few buyers before the holdout")
        info = mlflow.pyfunc.log_model(name="model", python_model=model, input_example=example,
                                       signature=infer_signature(example, model.predict(None, example)),
                                       pip_requirements=requirements)
        version = mlflow.register_model(info.model_uri, NAME, tags={"pipeline_run_id": run_id})
        client.set_registered_model_alias(NAME, tracking.CHAMPION, version.version)
        client.update_registered_model(NAME, description="Customer lifetime value: BG/NBD purchases and "
                                       "Gamma-Gamma spend over the next 365 days (jobs/models/lifetime_value.py)")
        mlflow.set_tags({"registered_version": version.version, "promotion": "promoted",
                         "promotion_reason": "CLV refits on all history: the latest fit is champion"})
    return {"version": str(version.version), "promoted": True, "mlflow_run_id": run.info.run_id,
            **{k: round(v, 4) for k, v in asdict(bg).items()}, **checks}


def score(spark: SparkSession, features: DataFrame, version) -> DataFrame:
    """customer_key, score (expected value over HORIZON_DAYS, EUR), p_alive, expected_purchases_365d
    for every buyer, with the registered version's parameters."""
    fitted = mlflow.pyfunc.load_model(f"models:/{NAME}/{version.version}").unwrap_python_model()
    rfm = buyers(features)
    triples = rfm.select("frequency", "recency", "T").distinct().toPandas()
    triples["p_alive"] = clv.probability_alive(fitted.bg, triples["frequency"], triples["recency"], triples["T"])
    triples["expected_purchases_365d"] = clv.expected_purchases(fitted.bg, HORIZON_DAYS, triples["frequency"],
                                                                triples["recency"], triples["T"])
    predictions = spark.createDataFrame(triples)
    p, q, v = fitted.gg.p, fitted.gg.q, fitted.gg.v
    own = F.when(F.col("frequency") > 0, F.col("monetary_value")).otherwise(F.lit(0.0))
    average = F.lit(p) * (F.lit(v) + F.col("frequency") * own) / (F.lit(p) * F.col("frequency") + F.lit(q - 1))
    return (rfm.join(predictions, ["frequency", "recency", "T"])
            .select("customer_key", (F.col("expected_purchases_365d") * average).alias("score"),
                    "p_alive", "expected_purchases_365d"))
