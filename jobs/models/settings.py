"""The `models:` section of config/pipeline.yaml, validated; every key optional.

    models:
      specs_dir: models                  # one YAML file per model (see models/README.md)
      store: data/mlflow                 # SQLite database and artifact folder while tracking_uri is null
      tracking_uri: null                 # any MLflow tracking URI instead
      experiment: customer360
      promotion_margin: 0.005            # ROC AUC a new version must gain over the champion
      min_positives: 30                  # fewer positives (or negatives) in train or holdout: refused
      min_roc_auc: 0.55                  # a holdout ROC AUC below it (near chance): refused
      seed: 42
      offers:                            # next best offer (jobs/models/offers.py)
        contact_cap: 2                   # at most 2 contacts in cap_days days, the offer included
        cap_days: 7
        default_hour: 10                 # send hour (UTC) for a customer without a usual hour
        response_prior: 30               # sends' worth of weight of a channel's overall response rate
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.common.config import PROJECT_ROOT, Config, bounded_number
from jobs.common.errors import ConfigError
from jobs.models.offers import OfferSettings

DEFAULTS = {"specs_dir": "models", "tracking_uri": None, "experiment": "customer360",
            "promotion_margin": 0.005, "min_positives": 30, "min_roc_auc": 0.55, "seed": 42, "store": "data/mlflow", "offers": {}}
OFFER_LIMITS = {"contact_cap": (1, None), "cap_days": (1, 366), "default_hour": (0, 23), "response_prior": (0, None)}


@dataclass(frozen=True)
class ModelSettings:
    specs_dir: Path
    tracking_uri: str          # where runs and the registry live
    artifact_root: str         # where a new experiment keeps its artifacts (local store only)
    experiment: str
    promotion_margin: float
    min_positives: int
    min_roc_auc: float
    seed: int
    offers: OfferSettings


def offer_settings(raw) -> OfferSettings:
    """models.offers, each key checked against OFFER_LIMITS (an integer unless it is response_prior)."""
    if not isinstance(raw, dict):
        raise ConfigError("models.offers", f"got {raw!r}", allowed="a mapping of " + ", ".join(OFFER_LIMITS))
    unknown = set(raw) - set(OFFER_LIMITS)
    if unknown:
        raise ConfigError(f"models.offers.{sorted(unknown)[0]}", "unknown key", allowed=", ".join(OFFER_LIMITS))
    values = {key: bounded_number(f"models.offers.{key}", value, *OFFER_LIMITS[key],
                                  integer=key != "response_prior") for key, value in raw.items()}
    if "response_prior" in values:
        values["response_prior"] = float(values["response_prior"])
    return OfferSettings(**values)


def model_settings(config: Config, root: Path | None = None) -> ModelSettings:
    raw = dict(config.models or {})
    unknown = set(raw) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"models.{sorted(unknown)[0]}", "unknown key", allowed=", ".join(DEFAULTS))
    values = {**DEFAULTS, **raw}
    base = root or PROJECT_ROOT

    def folder(key: str) -> Path:
        text = values[key]
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"models.{key}", f"got {text!r}", allowed="a folder path")
        path = Path(text)
        return path if path.is_absolute() else base / path

    store = folder("store")
    uri = values["tracking_uri"]
    if uri is not None and (not isinstance(uri, str) or not uri.strip()):
        raise ConfigError("models.tracking_uri", f"got {uri!r}",
                          allowed="an MLflow tracking URI (sqlite:///..., http://...) or null")
    margin = values["promotion_margin"]
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 0.5:
        raise ConfigError("models.promotion_margin", f"got {margin!r}", allowed="a number in [0, 0.5)")
    for key, minimum in (("min_positives", 1), ("seed", 0)):
        bounded_number(f"models.{key}", values[key], minimum)
    min_auc = bounded_number("models.min_roc_auc", values["min_roc_auc"], 0.5, 1, integer=False)
    experiment = values["experiment"]
    if not isinstance(experiment, str) or not experiment.strip():
        raise ConfigError("models.experiment", f"got {experiment!r}", allowed="a non-empty name")
    return ModelSettings(
        specs_dir=folder("specs_dir"),
        tracking_uri=uri or f"sqlite:///{store / 'mlflow.db'}",
        artifact_root=(store / "artifacts").as_uri(),
        experiment=experiment, promotion_margin=float(margin),
        min_positives=values["min_positives"], min_roc_auc=float(min_auc), seed=values["seed"], offers=offer_settings(values["offers"]))
