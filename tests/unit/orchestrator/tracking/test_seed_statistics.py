import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.tracking.seed_statistics import iqm, iqm_estimate, paired_difference


def test_iqm_drops_the_outer_quarters():
    assert iqm([1, 2, 3, 4, 100]) == pytest.approx(3.0)
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)


def test_the_interval_brackets_the_point_and_widens_with_spread():
    tight = iqm_estimate([50, 51, 49, 50, 50.5])
    loose = iqm_estimate([30, 70, 45, 60, 40])
    assert tight.low <= tight.point <= tight.high and loose.low <= loose.point <= loose.high
    assert (loose.high - loose.low) > 5 * (tight.high - tight.low)


def test_fewer_than_three_seeds_get_no_interval_and_constant_values_a_point():
    assert iqm_estimate([1.0, 2.0]).low is None and not iqm_estimate([1.0, 2.0]).contains(1.5)
    same = iqm_estimate([4.0, 4.0, 4.0])
    assert (same.low, same.high) == (4.0, 4.0) and same.contains(4.0)


def test_pairing_cancels_the_noise_both_sides_share():
    """Seeds differ by +-20 points but B is always A + 2: unpaired the intervals overlap, the
    paired difference is 2 exactly."""
    a = np.array([20.0, 60.0, 35.0, 50.0, 41.0])
    diff = paired_difference(a + 2, a)
    assert diff.point == pytest.approx(2.0) and diff.low == diff.high == pytest.approx(2.0)
    assert iqm_estimate(a + 2).contains(iqm_estimate(a).point)


def test_a_paired_difference_needs_the_same_seeds_on_both_sides():
    with pytest.raises(ValueError, match="one value per seed"):
        paired_difference([1, 2, 3], [1, 2])


def test_an_a_a_pair_of_pure_noise_usually_contains_zero():
    """Both labels the same distribution: the 95 % interval of their difference contains 0 in about
    95 % of experiments (percentile bootstrap on 8 seeds undercovers a little)."""
    rng = np.random.default_rng(0)
    hits = [paired_difference(rng.normal(40, 5, 8), rng.normal(40, 5, 8), seed=i).contains(0.0) for i in range(200)]
    assert 0.85 <= np.mean(hits) <= 0.99


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=3, max_size=10))
def test_the_iqm_interval_stays_within_the_data(values):
    est = iqm_estimate(values)
    assert min(values) - 1e-9 <= est.low <= est.high <= max(values) + 1e-9
