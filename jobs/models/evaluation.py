"""How good a classifier's scores are on a holdout: metrics, deciles, calibration, and their plots.

Pure numpy over (label, score) arrays, one row per holdout customer: a holdout is customers, not
events, so it stays small (tens of thousands of rows at 2M events) and exact metrics are cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

EPS = 1e-15


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: sum over score thresholds of (recall gained) x precision. Tied scores
    are one threshold, so the result does not depend on the order of tied rows."""
    labels = np.asarray(labels, dtype=bool)
    if labels.sum() == 0:
        return float("nan")
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    hits, ranked = labels[order], scores[order]
    last_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    tp = np.cumsum(hits)[last_of_tie]
    seen = np.arange(1, len(hits) + 1)[last_of_tie]
    recall_gain = np.diff(np.r_[0, tp]) / labels.sum()
    return float(np.sum(recall_gain * tp / seen))


def log_loss(labels: np.ndarray, scores: np.ndarray) -> float:
    p = np.clip(np.asarray(scores, dtype=float), EPS, 1 - EPS)
    y = np.asarray(labels, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(labels: np.ndarray, scores: np.ndarray) -> float:
    return float(np.mean((np.asarray(scores, dtype=float) - np.asarray(labels, dtype=float)) ** 2))


def metrics(labels, scores) -> dict[str, float]:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    return {"roc_auc": roc_auc(labels, scores), "pr_auc": pr_auc(labels, scores),
            "log_loss": log_loss(labels, scores), "brier": brier(labels, scores),
            "holdout_rows": float(len(labels)), "holdout_positive_rate": float(labels.mean()) if len(labels) else 0.0}


@dataclass(frozen=True)
class Decile:
    decile: int           # 1 = highest scores
    customers: int
    positives: int
    mean_score: float
    rate: float           # positives / customers
    lift: float           # rate / overall rate
    cumulative_gain: float  # share of all positives captured by deciles 1..this one


def deciles(labels, scores, n: int = 10) -> list[Decile]:
    """Customers ranked by score (highest first) in n groups of (almost) equal size."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    groups = np.array_split(order, n)
    overall = labels.mean() if len(labels) else 0.0
    total = labels.sum() or 1.0
    out, captured = [], 0.0
    for i, idx in enumerate(groups, start=1):
        if len(idx) == 0:
            continue
        pos = labels[idx].sum()
        captured += pos
        rate = pos / len(idx)
        out.append(Decile(i, len(idx), int(pos), float(scores[idx].mean()), float(rate),
                          float(rate / overall) if overall else 0.0, float(captured / total)))
    return out


def calibration(labels, scores, n: int = 10) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, customers) per bin of predicted probability of width 1/n."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    bins = np.minimum((scores * n).astype(int), n - 1)
    return [(float(scores[bins == b].mean()), float(labels[bins == b].mean()), int((bins == b).sum()))
            for b in range(n) if (bins == b).any()]


def calibration_figure(labels, scores, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = calibration(labels, scores)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot([p for p, _, _ in points], [o for _, o, _ in points], marker="o", label="model")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title(f"Calibration: {title}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def gains_figure(table: list[Decile], title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    x = [d.decile for d in table]
    left.bar(x, [d.lift for d in table])
    left.axhline(1.0, linestyle="--", color="grey")
    left.set_xlabel("decile (1 = highest scores)")
    left.set_ylabel("lift")
    left.set_title("Lift by decile")
    right.plot([0, *[d.decile * 10 for d in table]], [0, *[d.cumulative_gain * 100 for d in table]], marker="o",
               label="model")
    right.plot([0, 100], [0, 100], linestyle="--", color="grey", label="random")
    right.set_xlabel("% of customers contacted (by score)")
    right.set_ylabel("% of positives captured")
    right.set_title("Cumulative gains")
    right.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
