"""Customer lifetime value: BG/NBD for how many purchases, Gamma-Gamma for how much each.

Model. BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive,
a customer buys as a Poisson process with rate lambda ~ Gamma(shape r, rate alpha); after each
purchase they drop out for good with probability p ~ Beta(a, b). Gamma-Gamma (Fader, Hardie &
Lee 2005, "RFM and CLV: using iso-value curves"): a customer's transaction values are
Gamma(p, nu) with nu ~ Gamma(q, v) across customers, independent of the purchase process.
Expected value over the next t periods = expected purchases x expected average value.

Convention (buy-till-you-die, as in the papers and the `lifetimes` package), one row per
customer, all times in one unit (e.g. weeks):
- frequency: repeat purchases, i.e. all purchases minus the first;
- recency: time from the first to the last purchase (0 when frequency is 0);
- T: time from the first purchase to the end of the observation window;
- monetary_value: mean value of the repeat purchases (the first purchase is left out).

Why weights: the likelihood sees a customer only through (frequency, recency, T), so customers
sharing a triple add identical terms. `compress` (or a Spark group-by) collapses them to distinct
rows with counts; fitting those rows with the counts as weights maximises the same likelihood at
a cost set by the number of distinct rows (bounded by the time grain), not by the customers.

Fits are maximum likelihood over log-parameters (all four/three are positive): L-BFGS-B, then
Nelder-Mead to polish. Pure numpy/scipy: no Spark, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import expit, gammaln, hyp2f1

Array = NDArray[np.float64]

_TIME_SCALE_MAX_T = 1.0  # fit in time rescaled so max T is 1 (as lifetimes 0.11): well conditioned
_LOG_BOUNDS = (-20.0, 20.0)  # keeps every parameter in exp(+-20): the objective stays finite


@dataclass(frozen=True)
class BgNbdParams:
    """Purchase rate ~ Gamma(r, alpha), alpha in the data's time unit; dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Transaction value ~ Gamma(p, nu) with nu ~ Gamma(q, v); v is in money units."""

    p: float
    q: float
    v: float


# --- validation -------------------------------------------------------------------------------


def _fail_rows(name: str, bad: NDArray[np.bool_], problem: str) -> None:
    """Raise naming the field and how many rows break the rule, so bad upstream data is findable."""
    count = int(np.count_nonzero(bad))
    if count:
        raise ValueError(f"{name}: {count} of {bad.size} rows {problem}")


def _same_length(**columns: ArrayLike) -> list[Array]:
    """Fits take one row per customer (or distinct row): every column 1-D and of one length."""
    arrays = [np.asarray(values, dtype=float) for values in columns.values()]
    shapes = {name: arr.shape for name, arr in zip(columns, arrays, strict=True)}
    if any(arr.ndim != 1 for arr in arrays) or len(set(shapes.values())) > 1:
        raise ValueError(f"expected 1-D columns of the same length, got shapes {shapes}")
    if arrays[0].size == 0:
        raise ValueError("no rows to fit")
    return arrays


def _check_frequency(f: Array) -> None:
    _fail_rows("frequency", ~np.isfinite(f) | (f < 0) | (f != np.floor(f)),
               "are not whole numbers >= 0 (repeat purchases)")


def _check_rfm(f: Array, r: Array, T: Array) -> None:
    """The buy-till-you-die convention; a row outside it has no likelihood."""
    _check_frequency(f)
    _fail_rows("recency", ~np.isfinite(r) | (r < 0), "are not finite and >= 0")
    _fail_rows("T", ~np.isfinite(T) | (T < 0), "are not finite and >= 0")
    _fail_rows("recency", r > T, "are greater than T")
    _fail_rows("recency", (f == 0) & (r != 0), "are not 0 although frequency is 0")


def _check_weights(weights: ArrayLike | None, n: int) -> Array:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"weights: expected shape ({n},), one per row, got {w.shape}")
    _fail_rows("weights", ~np.isfinite(w) | (w < 0), "are not finite and >= 0")
    if not w.sum() > 0:
        raise ValueError("weights: all are 0, nothing to fit")
    return w


def _broadcast_rfm(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
                   *extra: ArrayLike) -> list[Array]:
    """Predictions broadcast (e.g. one T for a cohort) and check the same convention as fits."""
    columns = (frequency, recency, T, *extra)
    arrays = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in columns))
    _check_rfm(*arrays[:3])
    return arrays


# --- optimisation ------------------------------------------------------------------------------


def _minimise(objective: Callable[[Array], float], n_params: int, what: str) -> Array:
    """L-BFGS-B gets close fast; Nelder-Mead polishes past its finite-difference noise."""
    bounds = [_LOG_BOUNDS] * n_params
    rough = minimize(objective, np.zeros(n_params), method="L-BFGS-B", bounds=bounds)
    fine = minimize(objective, rough.x, method="Nelder-Mead", bounds=bounds,
                    options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20_000})
    # A parameter running to its bound (e.g. BG/NBD's a -> 0 when nobody seems to drop out, on
    # short histories) leaves Nelder-Mead crawling along a flat ridge until its iteration limit:
    # the best point found is still the maximum likelihood within the bounds, so keep it.
    best = min((res for res in (rough, fine) if np.isfinite(res.fun)), key=lambda res: res.fun, default=None)
    if best is None:
        raise RuntimeError(f"{what} fit did not converge: {fine.message}")
    return np.exp(best.x)


# --- BG/NBD ------------------------------------------------------------------------------------


def _bgnbd_loglik(params: Array, f: Array, r: Array, T: Array) -> Array:
    """Per-row log-likelihood (FHL 2005a, section 7), in the log-sum-exp form lifetimes uses."""
    rr, alpha, a, b = params
    common = (gammaln(rr + f) - gammaln(rr) + rr * np.log(alpha)
              + gammaln(a + b) + gammaln(b + f) - gammaln(b) - gammaln(a + b + f))
    alive = -(rr + f) * np.log(alpha + T)
    dropped = np.where(f > 0, np.log(a) - np.log(b + np.maximum(f, 1) - 1)
                       - (rr + f) * np.log(alpha + r), -np.inf)
    return common + np.logaddexp(alive, dropped)


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
              weights: ArrayLike | None = None, penalizer: float = 0.0) -> BgNbdParams:
    """Maximum-likelihood BG/NBD; rows are customers, or distinct rows with counts as weights.

    The objective is the weighted mean negative log-likelihood plus penalizer * sum(params**2),
    with alpha taken in time rescaled so max T is 1: lifetimes' convention, so its penalizer
    values carry over. penalizer=0 is plain maximum likelihood.
    """
    f, r, t = _same_length(frequency=frequency, recency=recency, T=T)
    _check_rfm(f, r, t)
    w = _check_weights(weights, f.size)
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise ValueError(f"penalizer: must be finite and >= 0, got {penalizer}")
    scale = _TIME_SCALE_MAX_T / t.max() if t.max() > 0 else 1.0
    r, t = r * scale, t * scale
    total = w.sum()

    def objective(log_params: Array) -> float:
        params = np.exp(log_params)
        loglik = w @ _bgnbd_loglik(params, f, r, t)
        return float(-loglik / total + penalizer * np.sum(params**2))

    rr, alpha, a, b = _minimise(objective, 4, "BG/NBD")
    return BgNbdParams(r=float(rr), alpha=float(alpha / scale), a=float(a), b=float(b))


def _log_odds_dropped(params: BgNbdParams, f: Array, r: Array, T: Array) -> Array:
    """log P(dropped after last purchase) / P(alive), for f > 0 (Fader-Hardie note 021)."""
    return (np.log(params.a) - np.log(params.b + np.maximum(f, 1) - 1)
            + (params.r + f) * np.log((params.alpha + T) / (params.alpha + r)))


def probability_alive(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike,
                      T: ArrayLike) -> Array:
    """P(still alive | history). 1 with no repeat purchase: in BG/NBD dropout follows purchases."""
    f, r, t = _broadcast_rfm(frequency, recency, T)
    return np.where(f == 0, 1.0, expit(-_log_odds_dropped(params, f, r, t)))


def _hyp2f1_scaled(a: Array, b: Array, c: Array, z: Array, log_scale: Array) -> Array:
    """2F1(a, b; c; z) x exp(log_scale), in logs where 2F1 alone overflows: the direct series where it
    is finite, else Euler's transformation. Signed: with the fitted a + b below 1 (few dropouts, as
    on short histories), c = a + b - 1 is negative for a customer with no repeat purchase, and so
    is 2F1, whose logarithm would be NaN."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = hyp2f1(a, b, c, z)
        euler = hyp2f1(c - a, c - b, c, z)
        finite = np.isfinite(direct)
        value = np.where(finite, direct, euler)
        log_size = np.log(np.abs(value)) + log_scale + np.where(finite, 0.0, (c - a - b) * np.log1p(-z))
        return np.sign(value) * np.exp(log_size)


def expected_purchases(params: BgNbdParams, t: ArrayLike, frequency: ArrayLike,
                       recency: ArrayLike, T: ArrayLike) -> Array:
    """Expected repeat purchases in the next t periods given history: eq. (10) of the paper.

    Eq. (10)'s denominator is 1 / probability_alive, so it is computed as that (stable).
    """
    f, r, big_t, t = _broadcast_rfm(frequency, recency, T, t)
    _fail_rows("t", ~np.isfinite(t) | (t < 0), "are not finite and >= 0")
    rr, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + big_t + t)
    scaled = _hyp2f1_scaled(rr + f, b + f, a + b + f - 1, z, (rr + f) * np.log((alpha + big_t) / (alpha + big_t + t)))
    if_alive = (a + b + f - 1) / (a - 1) * (1.0 - scaled)
    return if_alive * probability_alive(params, f, r, big_t)


# --- Gamma-Gamma -------------------------------------------------------------------------------


def _gamma_gamma_loglik(params: Array, x: Array, m: Array) -> Array:
    """Per-row log density of a customer's mean value m over x repeat transactions."""
    p, q, v = params
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + x * m))


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike,
                    weights: ArrayLike | None = None) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma on the repeat buyers only.

    Rows with frequency 0 are dropped inside: without a repeat purchase there is no repeat
    transaction value to learn from, so their monetary_value is ignored (it may be NaN). The
    remaining rows need monetary_value > 0. The model assumes value is independent of frequency.
    """
    f, m = _same_length(frequency=frequency, monetary_value=monetary_value)
    _check_frequency(f)
    w = _check_weights(weights, f.size)
    repeat = f > 0
    if not np.any(repeat & (w > 0)):
        raise ValueError("frequency: no (weighted) rows with frequency > 0 to fit Gamma-Gamma on")
    f, m, w = f[repeat], m[repeat], w[repeat]
    _fail_rows("monetary_value", ~np.isfinite(m) | (m <= 0),
               "with frequency > 0 are not finite and > 0")
    scale = 1.0 / np.average(m, weights=w)  # fit in money units with mean 1: conditioning only
    m = m * scale
    total = w.sum()

    def objective(log_params: Array) -> float:
        return float(-(w @ _gamma_gamma_loglik(np.exp(log_params), f, m)) / total)

    p, q, v = _minimise(objective, 3, "Gamma-Gamma")
    return GammaGammaParams(p=float(p), q=float(q), v=float(v / scale))


def expected_average_value(params: GammaGammaParams, frequency: ArrayLike,
                           monetary_value: ArrayLike) -> Array:
    """E[mean transaction value | history]: the population mean p v / (q - 1) shrunk towards
    the customer's own mean as frequency grows. Frequency 0 gets the population mean (q > 1).
    """
    f, m = np.broadcast_arrays(np.asarray(frequency, dtype=float),
                               np.asarray(monetary_value, dtype=float))
    _check_frequency(f)
    _fail_rows("monetary_value", (f > 0) & ~(np.isfinite(m) & (m > 0)),
               "with frequency > 0 are not finite and > 0")
    own = np.where(f > 0, m, 0.0)
    p, q, v = params.p, params.q, params.v
    return p * (v + f * own) / (p * f + q - 1)


def expected_value(bg: BgNbdParams, gg: GammaGammaParams, t: ArrayLike, frequency: ArrayLike,
                   recency: ArrayLike, T: ArrayLike, monetary_value: ArrayLike) -> Array:
    """Expected spend in the next t periods: expected purchases x expected average value.

    Undiscounted on purpose (simple, horizon-bounded); apply a discount rate downstream if needed.
    """
    return (expected_purchases(bg, t, frequency, recency, T)
            * expected_average_value(gg, frequency, monetary_value))


# --- compression -------------------------------------------------------------------------------


def compress(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
             ) -> tuple[Array, Array, Array, NDArray[np.int64], NDArray[np.intp]]:
    """Distinct (frequency, recency, T) rows, their counts, and the inverse index.

    Fit on the distinct rows with counts as weights; expand per-row predictions back to
    customers with `prediction[inverse]`.
    """
    f, r, t = _same_length(frequency=frequency, recency=recency, T=T)
    _check_rfm(f, r, t)
    rows = np.column_stack([f, r, t]) + 0.0  # + 0.0 turns -0.0 into 0.0: one row, not two
    distinct, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    return (distinct[:, 0], distinct[:, 1], distinct[:, 2], counts.astype(np.int64),
            inverse.reshape(-1))
