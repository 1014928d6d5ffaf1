"""MLflow: where runs and the model registry live, and the champion rule.

By default a SQLite database and an artifact folder under the project (config `models.store`,
`data/mlflow/`); any tracking URI by `models.tracking_uri` (an MLflow server, say). Every
model file is one registered model of the same name. The version serving scores carries the
alias `champion`: a new version takes it only when it beats the champion on the same holdout
by `models.promotion_margin` of ROC AUC (`decide`), so retraining on the same data never
replaces a champion with an equal model. (The CLV model is the exception: it refits on all
history, so its latest fit is champion; jobs/models/lifetime_value.py.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from jobs.common.errors import PipelineError
from jobs.models.settings import ModelSettings

log = logging.getLogger(__name__)

CHAMPION = "champion"


class NoChampion(PipelineError):
    """Scoring asked for a model no training run has registered yet."""


def open_tracking(settings: ModelSettings):
    """Point MLflow at the configured store and experiment; return a client."""
    import os

    import mlflow
    from mlflow import MlflowClient

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")   # no bars in job logs
    if settings.tracking_uri.startswith("sqlite:///"):
        from pathlib import Path

        Path(settings.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    if client.get_experiment_by_name(settings.experiment) is None:
        artifacts = settings.artifact_root if settings.tracking_uri.startswith("sqlite:") else None
        client.create_experiment(settings.experiment, artifact_location=artifacts)
    mlflow.set_experiment(settings.experiment)
    return client


def champion_version(client, name: str):
    """The registered version holding the champion alias, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def champion_uri(name: str) -> str:
    return f"models:/{name}@{CHAMPION}"


def require_champion(client, name: str):
    version = champion_version(client, name)
    if version is None:
        raise NoChampion(f"model '{name}' has no registered champion in the MLflow store "
                         f"({client.tracking_uri}); run `make train` first")
    return version


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    challenger_auc: float
    champion_auc: float | None
    champion_version: str | None


def decide(challenger_auc: float, champion_auc: float | None, champion_version: str | None,
           margin: float) -> Decision:
    """The champion rule (pure): promote when there is no champion, or when the challenger's holdout
    ROC AUC exceeds the champion's on the same holdout by at least `margin`."""
    if champion_auc is None:
        return Decision(True, "no champion yet", challenger_auc, None, None)
    gain = challenger_auc - champion_auc
    if gain >= margin and gain > 0:
        return Decision(True, f"beats champion v{champion_version} by {gain:+.4f} (margin {margin})",
                        challenger_auc, champion_auc, champion_version)
    return Decision(False, f"does not beat champion v{champion_version} by the margin {margin} "
                           f"({gain:+.4f})", challenger_auc, champion_auc, champion_version)
