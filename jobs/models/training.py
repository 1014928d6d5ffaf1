"""Point-in-time training sets: features as of each cutoff, labels from the horizon after it.

For a model with horizon h, as of date D:

    holdout cutoff   H = D - h                      (its labels end on D: complete)
    training cutoffs H - h, H - h - step, ...       (their labels end by H: no horizon overlaps
                                                      the holdout's, so no future leaks into training)

Rows of every cutoff are stacked (one row per customer and cutoff, `cutoff_date` says which);
training reads the earlier cutoffs, evaluation the latest: a time-based split. Cutoffs before
the first day silver holds are left out (nobody existed yet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs.common.config import Config
from jobs.common.contracts import table_schema
from jobs.common.errors import PipelineError
from jobs.common.tables import spark_schema
from jobs.gold.customer_360 import INPUTS, Silver
from jobs.gold.settings import GoldSettings, gold_settings
from jobs.models.features import customer_features, model_input
from jobs.models.spec import ModelSpec, target_categories
from jobs.models.targets import CUSTOMERS, ROW_KEYS, VISITORS, with_labels
from jobs.models.visitors import visitor_features

POPULATIONS = (CUSTOMERS, VISITORS)


class ModelRefused(PipelineError):
    """A model cannot be trained or trusted on this data (too few positives, degenerate holdout)."""


@dataclass(frozen=True)
class Cutoffs:
    training: tuple[dt.date, ...]   # oldest first
    holdout: dt.date


def plan_cutoffs(spec: ModelSpec, as_of: dt.date, first_day: dt.date | None = None) -> Cutoffs:
    holdout = as_of - dt.timedelta(days=spec.horizon_days)
    latest_training = holdout - dt.timedelta(days=spec.horizon_days)
    training = [latest_training - dt.timedelta(days=i * spec.step_days) for i in range(spec.cutoffs)]
    if first_day is not None:
        training = [c for c in training if c >= first_day]
    return Cutoffs(tuple(sorted(training)), holdout)


def empty_silver(spark: SparkSession) -> Silver:
    return Silver(*(spark.createDataFrame([], spark_schema(table_schema(t))) for t in INPUTS))


def feature_schemas(spark: SparkSession, config: Config, specs) -> dict[str, StructType]:
    """Each population's feature frame schema, from empty silver frames (no lake needed)."""
    return FeatureFrames(empty_silver(spark), gold_settings(config), target_categories(specs)).schemas()


class FeatureFrames:
    """Feature frames by population and cutoff, each computed once per run and shared by every model.

    customers: customer_features (customer_360 as of the cutoff and order history); visitors:
    visitor_features (the browsing of devices nothing named by the cutoff day)."""

    def __init__(self, silver: Silver, settings: GoldSettings, categories: tuple[str, ...]):
        self.silver, self.settings, self.categories = silver, settings, categories
        self._frames: dict[tuple[str, dt.date], DataFrame] = {}

    def _build(self, population: str, cutoff: dt.date) -> DataFrame:
        if population == VISITORS:
            return visitor_features(self.silver.touchpoints, cutoff, self.settings.session_gap_minutes)
        return customer_features(self.silver, cutoff, self.settings, self.categories)

    def schema(self, population: str = CUSTOMERS) -> StructType:
        """The frame's schema (planned, not computed)."""
        return self._build(population, dt.date(2000, 1, 1)).schema

    def schemas(self) -> dict[str, StructType]:
        """population -> its frame's schema (what validate_specs checks a model against)."""
        return {population: self.schema(population) for population in POPULATIONS}

    def at(self, cutoff: dt.date, population: str = CUSTOMERS) -> DataFrame:
        if (population, cutoff) not in self._frames:
            self._frames[population, cutoff] = self._build(population, cutoff).localCheckpoint()
        return self._frames[population, cutoff]


def labelled_rows(frames: FeatureFrames, spec: ModelSpec, cutoffs: tuple[dt.date, ...]) -> DataFrame:
    """The eligible rows (customers or visitors) of every cutoff, their features and label,
    stacked (pure given frames)."""
    parts = [with_labels(frames.at(c, spec.target.population).where(F.expr(spec.eligibility)), frames.silver,
                         spec.target, c, spec.horizon_days, frames.settings) for c in cutoffs]
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def prepared(rows: DataFrame, feature_kinds: dict[str, str], extra: tuple[str, ...] = ()) -> DataFrame:
    """Every usable feature filled (model_input), with keys (customer_key, and a visitor's
    anonymous_id) and `extra` columns kept: any model's pipeline (the challenger's, the
    champion's with other features) can read the result."""
    numeric = tuple(n for n, k in feature_kinds.items() if k == "numeric")
    categorical = tuple(n for n, k in feature_kinds.items() if k == "categorical")
    keys = tuple(k for k in ROW_KEYS.values() if k in rows.columns)
    return model_input(rows, numeric, categorical, keep=(*keys, "cutoff_date", *extra))


def check_signal(spec: ModelSpec, roc_auc: float, minimum: float, holdout_cutoff: dt.date) -> None:
    """Refuse a model that ranks its holdout about as well as chance: scoring it would act on noise."""
    if roc_auc < minimum:
        raise ModelRefused(
            f"model '{spec.name}' ({spec.source}) refused: its holdout (cutoff {holdout_cutoff}) ROC AUC is "
            f"{roc_auc:.4f}, below models.min_roc_auc = {minimum}: its features do not predict its target on this "
            f"data. Give it features that carry the signal, more data (a larger SCALE, more training.cutoffs), "
            f"or a different horizon_days; the current champion, if any, stays")


def split_features(spec: ModelSpec, feature_kinds: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    numeric = tuple(f for f in spec.features if feature_kinds[f] == "numeric")
    categorical = tuple(f for f in spec.features if feature_kinds[f] == "categorical")
    return numeric, categorical


def check_support(spec: ModelSpec, part: str, positives: int, rows: int, minimum: int) -> None:
    """Refuse a model whose training set or holdout has too few positives or negatives."""
    negatives = rows - positives
    if positives < minimum or negatives < minimum:
        raise ModelRefused(
            f"model '{spec.name}' ({spec.source}) refused: its {part} has {positives} positive and {negatives} "
            f"negative rows, fewer than models.min_positives = {minimum} of one of them. Give it more data "
            f"(more days, a larger SCALE), a longer horizon_days, more training.cutoffs, or a wider eligibility")

