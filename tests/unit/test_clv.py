"""BG/NBD and Gamma-Gamma against the published CDNOW fits and lifetimes 0.11.3 (no Spark)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs.models import clv

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow_summary.csv"

# Published estimates: Fader, Hardie & Lee (2005a), BG/NBD on CDNOW; (2005b), Gamma-Gamma.
PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PAPER_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}

# lifetimes 0.11.3 (numpy 1.26.4, scipy 1.12.0) in a throwaway venv, on the same file:
# BetaGeoFitter(penalizer_coef=0).fit(...).params_ and GammaGammaFitter(...) on repeat buyers.
LIFETIMES_BG = clv.BgNbdParams(r=0.24259292827982182, alpha=4.413532265271819,
                               a=0.7928859664406882, b=2.42575238262586)
LIFETIMES_GG = clv.GammaGammaParams(p=6.248802496075312, q=3.744588460923114,
                                    v=15.44774806492914)


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    data = np.loadtxt(CDNOW, delimiter=",", skiprows=1)
    names = ("customer_id", "frequency", "recency", "T", "monetary_value")
    return dict(zip(names, data.T, strict=True))


@pytest.fixture(scope="module")
def bg(cdnow) -> clv.BgNbdParams:
    return clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def _rel(got: object, want: dict[str, float]) -> dict[str, float]:
    return {k: abs(getattr(got, k) / v - 1) for k, v in want.items()}


def test_cdnow_file_is_the_published_sample(cdnow):
    assert cdnow["frequency"].size == 2357
    assert cdnow["T"].max() == pytest.approx(38.86)


def test_bgnbd_reproduces_paper_and_lifetimes(bg):
    assert max(_rel(bg, PAPER_BGNBD).values()) < 0.01
    assert max(_rel(bg, vars(LIFETIMES_BG)).values()) < 1e-5


def test_gamma_gamma_reproduces_paper_on_946_repeat_buyers(cdnow):
    assert np.count_nonzero(cdnow["frequency"] > 0) == 946
    # frequency-0 rows are filtered inside, whatever their monetary_value says
    monetary = np.where(cdnow["frequency"] > 0, cdnow["monetary_value"], np.nan)
    gg = clv.fit_gamma_gamma(cdnow["frequency"], monetary)
    assert max(_rel(gg, PAPER_GAMMA_GAMMA).values()) < 0.01
    assert max(_rel(gg, vars(LIFETIMES_GG)).values()) < 1e-5


def test_penalizer_follows_lifetimes_convention(cdnow):
    # lifetimes 0.11.3: BetaGeoFitter(penalizer_coef=0.01).fit(...).params_ on the same file
    want = {"r": 0.24294034212981044, "alpha": 4.432437170705429, "a": 0.2856415362766507,
            "b": 0.6584536735406313}
    got = clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"], penalizer=0.01)
    assert max(_rel(got, want).values()) < 1e-5


def test_compressed_weighted_fit_equals_full_fit(cdnow, bg):
    f, r, t, weights, inverse = clv.compress(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert f.size < cdnow["frequency"].size and weights.sum() == cdnow["frequency"].size
    np.testing.assert_array_equal(f[inverse], cdnow["frequency"])
    np.testing.assert_array_equal(r[inverse], cdnow["recency"])
    np.testing.assert_array_equal(t[inverse], cdnow["T"])
    assert max(_rel(clv.fit_bgnbd(f, r, t, weights=weights), vars(bg)).values()) < 1e-4


def test_gamma_gamma_weights_equal_repeated_rows(cdnow):
    rows = np.column_stack([cdnow["frequency"], cdnow["monetary_value"]])
    distinct, counts = np.unique(rows, axis=0, return_counts=True)
    full = clv.fit_gamma_gamma(rows[:, 0], rows[:, 1])
    weighted = clv.fit_gamma_gamma(distinct[:, 0], distinct[:, 1], weights=counts)
    assert max(_rel(weighted, vars(full)).values()) < 1e-4


def test_predictions_match_lifetimes():
    # Same parameters (LIFETIMES_*), so this checks the formulas alone. Reference values from
    # lifetimes 0.11.3: conditional_probability_alive,
    # conditional_expected_number_of_purchases_up_to_time, conditional_expected_average_profit.
    f = np.array([0, 2, 1, 6, 10])
    r = np.array([0.0, 30.43, 1.71, 36.0, 20.0])
    t = np.array([38.86, 38.86, 38.86, 37.0, 38.86])
    np.testing.assert_allclose(
        clv.probability_alive(LIFETIMES_BG, f, r, t),
        [1.0, 0.726609136799059, 0.2122273880722099, 0.8893818146330921, 0.039356151138098566],
        rtol=1e-9)
    np.testing.assert_allclose(
        clv.expected_purchases(LIFETIMES_BG, 10, f, r, t),
        [0.05421009733134889, 0.35693100864690896, 0.05820268119915057, 1.2501308581981052,
         0.08665333084728206], rtol=1e-9)
    np.testing.assert_allclose(
        clv.expected_purchases(LIFETIMES_BG, 52, f, r, t),
        [0.25166572540727083, 1.5585837617716687, 0.2599070794084924, 5.222622579736077,
         0.3596193853173322], rtol=1e-9)
    np.testing.assert_allclose(
        clv.expected_average_value(LIFETIMES_GG, [1, 2, 6], [11.77, 22.35, 40.0]),
        [18.911479869929103, 24.658616189236472, 39.67061463618843], rtol=1e-9)


@pytest.mark.parametrize("params", [clv.BgNbdParams(r=1.2, alpha=27.5, a=0.3, b=0.5),
                                    # fitted on 60 days at 2,000,000 events: almost nobody drops out
                                    clv.BgNbdParams(r=1.199818, alpha=27.506993, a=0.002254, b=0.168928)],
                         ids=["a+b<1", "2M-fit"])
def test_expected_purchases_with_few_dropouts_match_the_process(params):
    """With a + b < 1, 2F1 is negative for a customer with no repeat purchase (its log was NaN).
    The process itself, simulated: no purchase in (0, T] leaves lambda ~ Gamma(r, alpha + T) and
    the customer alive; then purchases are Poisson(lambda t) until the first dropout, which follows
    each purchase with probability p ~ Beta(a, b)."""
    rng = np.random.default_rng(7)
    n, T, t = 400_000, 16.0, 365.0
    lam = rng.gamma(params.r, 1.0 / (params.alpha + T), n)
    p = np.clip(rng.beta(params.a, params.b, n), 1e-12, 1.0)
    simulated = np.minimum(rng.poisson(lam * t), rng.geometric(p)).mean()
    got = clv.expected_purchases(params, t, 0, 0.0, T)
    assert np.isfinite(got) and got == pytest.approx(simulated, rel=0.02)


def test_predictions_are_sane_on_cdnow(cdnow, bg):
    f, r, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    alive = clv.probability_alive(bg, f, r, t)
    assert np.all((alive > 0) & (alive <= 1))
    assert np.all(alive[f == 0] == 1.0)  # BG/NBD: customers only drop out right after a purchase
    horizons = np.array([0.0, 1, 4, 13, 26, 52, 104])[:, None]
    purchases = clv.expected_purchases(bg, horizons, f, r, t)
    assert purchases.shape == (horizons.size, f.size)
    assert np.all(purchases[0] == 0) and np.all(np.diff(purchases, axis=0) > 0)


def test_expected_value_is_purchases_times_average_value(cdnow, bg):
    f, r, t, m = (cdnow[k] for k in ("frequency", "recency", "T", "monetary_value"))
    gg = LIFETIMES_GG
    value = clv.expected_value(bg, gg, 52, f, r, t, m)
    expected = clv.expected_purchases(bg, 52, f, r, t) * clv.expected_average_value(gg, f, m)
    np.testing.assert_allclose(value, expected)
    # no repeat purchase: the population mean value p v / (q - 1), monetary_value unused
    population = gg.p * gg.v / (gg.q - 1)
    assert clv.expected_average_value(gg, [0], [np.nan])[0] == pytest.approx(population)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"frequency": [1, -1, 2]}, r"^frequency: 1 of 3 rows"),
        ({"frequency": [1, 1.5, 2]}, r"^frequency: 1 of 3 rows"),
        ({"recency": [3.0, 12.0, 11.0]}, r"^recency: 2 of 3 rows are greater than T"),
        ({"recency": [3.0, np.nan, 4.0]}, r"^recency: 1 of 3 rows"),
        ({"frequency": [0, 1, 2]}, r"^recency: 1 of 3 rows are not 0 although frequency is 0"),
        ({"T": [10.0, -1.0, 10.0]}, r"^T: 1 of 3 rows"),
        ({"T": [10.0, 10.0]}, r"same length"),
        ({"weights": [1.0, -2.0, 1.0]}, r"^weights: 1 of 3 rows"),
    ],
)
def test_invalid_bgnbd_input_names_the_field(columns, message):
    rows = {"frequency": [1, 2, 3], "recency": [3.0, 4.0, 5.0], "T": [10.0, 10.0, 10.0],
            "weights": None} | columns
    with pytest.raises(ValueError, match=message):
        clv.fit_bgnbd(**rows)


def test_invalid_gamma_gamma_input_names_the_field():
    with pytest.raises(ValueError, match=r"^monetary_value: 1 of 2 rows with frequency > 0"):
        clv.fit_gamma_gamma([0, 1, 2], [0.0, 0.0, 5.0])
    with pytest.raises(ValueError, match=r"^frequency: no .*rows with frequency > 0"):
        clv.fit_gamma_gamma([0, 0], [1.0, 2.0])


def test_invalid_prediction_input_names_the_field():
    with pytest.raises(ValueError, match=r"^recency: 1 of 1 rows are greater than T"):
        clv.probability_alive(LIFETIMES_BG, 1, 5.0, 4.0)
    with pytest.raises(ValueError, match=r"^t: 1 of 1 rows"):
        clv.expected_purchases(LIFETIMES_BG, -1, 1, 2.0, 4.0)
