import math

import numpy as np
import pytest
from scipy import stats

from orchestrator.stats.paired import (
    BCA_MIN_PAIRS,
    bca_interval,
    paired_test,
    sign_flip_interval,
    sign_flip_p,
    t_interval,
    tost_p,
)

DRAWS = 4000


def _coverage(n: int, interval, draws: int = DRAWS, heavy: bool = False, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(draws):
        d = 2.0 + (rng.standard_t(3, n) if heavy else rng.normal(0, 4.0, n))
        low, high = interval(d)[:2]
        hits += low <= 2.0 <= high
    return hits / draws


def _binomial_band(p: float, draws: int) -> tuple[float, float]:
    half = 3 * math.sqrt(p * (1 - p) / draws)
    return p - half, p + half


@pytest.mark.parametrize("n", [5, 20])
def test_the_t_interval_covers_95_percent_at_5_and_20_pairs(n):
    low, high = _binomial_band(0.95, DRAWS)
    assert low <= _coverage(n, t_interval) <= high


@pytest.mark.parametrize("n", [5, 20])
def test_the_t_interval_keeps_its_level_on_heavy_tails(n):
    assert _coverage(n, t_interval, heavy=True) >= _binomial_band(0.95, DRAWS)[0]


def _percentile_bootstrap(d: np.ndarray) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    means = d[rng.integers(0, len(d), size=(2000, len(d)))].mean(axis=1)
    return tuple(np.quantile(means, [0.025, 0.975]))


def test_the_percentile_bootstrap_it_replaces_under_covers_at_5_pairs():
    assert _coverage(5, _percentile_bootstrap, draws=2000) < 0.9


def test_the_sign_flip_test_cannot_reject_at_5_pairs_and_is_exact_at_3():
    assert sign_flip_p(np.array([3.0, 4.0, 5.0, 6.0, 7.0]))[0] == pytest.approx(2 / 32)
    # patterns of (1, 2, 4) with |mean| >= 7/3: +++ and --- only
    assert sign_flip_p(np.array([1.0, 2.0, 4.0])) == (pytest.approx(2 / 8), "exact")
    # |+1 +2 -4| = 1 < |sum| = 3 ... patterns with |sum| >= 3: +++, ---, -(-1)... counted by brute force
    d = np.array([1.0, 2.0, -4.0])
    sums = [abs(a * 1 + b * 2 + c * -4) for a in (1, -1) for b in (1, -1) for c in (1, -1)]
    assert sign_flip_p(d)[0] == pytest.approx(sum(s >= 1 for s in sums) / 8)


def test_the_sign_flip_p_is_a_valid_p_value_under_the_null():
    rng = np.random.default_rng(2)
    p = np.array([sign_flip_p(rng.normal(0, 1, 10))[0] for _ in range(2000)])
    assert np.mean(p < 0.05) <= _binomial_band(0.05, 2000)[1]


def test_the_sign_flip_interval_is_unbounded_at_5_pairs_and_covers_at_8_and_45():
    assert sign_flip_interval(np.arange(5.0)) == (-math.inf, math.inf)
    for n, draws in ((8, 1000), (45, 60)):
        low, high = _binomial_band(0.95, draws)
        assert low <= _coverage(n, sign_flip_interval, draws=draws, heavy=True) <= min(1.0, high)


def test_the_meet_in_the_middle_p_equals_brute_force_enumeration():
    rng = np.random.default_rng(4)
    for n in (1, 2, 7, 12):
        d = rng.normal(0.5, 1.0, n)
        patterns = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        brute = np.mean(np.abs(patterns @ d) >= abs(d.sum()) - 1e-12)
        assert sign_flip_p(d)[0] == pytest.approx(brute)


def test_bca_is_given_only_from_its_minimum_pairs_and_keeps_its_level_there():
    assert bca_interval(np.arange(BCA_MIN_PAIRS - 1.0))[0] is None
    coverage = _coverage(BCA_MIN_PAIRS, lambda d: bca_interval(d)[:2], draws=400)
    assert coverage >= 0.90


def test_tost_rejects_exactly_when_the_90_percent_interval_lies_inside_the_margin():
    rng = np.random.default_rng(3)
    for _ in range(200):
        d = rng.normal(rng.uniform(-2, 2), 2.0, 12)
        low, high, _ = t_interval(d, confidence=0.90)
        assert (tost_p(d, 1.5) < 0.05) == (-1.5 < low and high < 1.5)
    with pytest.raises(ValueError, match="margin"):
        tost_p(np.ones(3), 0.0)


def test_a_paired_test_holds_every_view_and_refuses_unequal_sides():
    a = np.array([40.0, 42.0, 39.0, 45.0, 41.0, 44.0])
    b = a - np.array([1.0, 2.0, 0.5, 3.0, 1.5, 2.5])
    test = paired_test(a, b, margin=5.0)
    assert test.mean == pytest.approx(1.75) and test.pairs == 6
    assert test.t_p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert test.t_low < test.mean < test.t_high and test.exact_method == "exact"
    assert test.bca_low is None and str(BCA_MIN_PAIRS) in test.bca_note
    assert test.tost_p is not None and test.tost_p < 0.05
    with pytest.raises(ValueError, match="one value per pair"):
        paired_test([1.0, 2.0], [1.0])
