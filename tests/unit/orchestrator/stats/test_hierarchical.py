import numpy as np
import pytest

from orchestrator.stats.hierarchical import (
    hierarchical_interval,
    hierarchical_resamples,
    paired_units,
    probability_of_improvement,
)


def test_one_seed_a_warm_start_makes_the_pairs_the_units():
    a = {("ws0", 1): 3.0, ("ws1", 2): 5.0, ("ws2", 3): 4.0}
    b = {("ws0", 1): 1.0, ("ws1", 2): 2.0, ("ws2", 3): 2.0, ("ws3", 4): 9.0}
    units = paired_units(a, b)
    assert units.unit == "pair" and units.pairs == 3 and units.warm_starts == 3
    assert list(units.values - units.reference) == [2.0, 3.0, 2.0]


def test_seeds_sharing_a_warm_start_count_once_through_their_mean():
    a = {("ws0", 1): 3.0, ("ws0", 2): 5.0, ("ws1", 1): 1.0, ("ws1", 2): 3.0}
    b = dict.fromkeys(a, 0.0)
    units = paired_units(a, b)
    assert units.unit == "warm start" and units.pairs == 4 and units.warm_starts == 2
    assert list(units.values) == [4.0, 2.0]


def test_on_one_warm_start_the_seeds_are_the_units():
    a = {("ws0", s): float(s) for s in range(4)}
    units = paired_units(a, dict.fromkeys(a, 0.0))
    assert units.unit == "seed" and units.warm_starts == 1 and len(units.values) == 4
    with pytest.raises(ValueError, match="share no"):
        paired_units({("x", 1): 1.0}, {("y", 1): 1.0})


def test_the_hierarchical_bootstrap_draws_warm_starts_then_their_own_seeds():
    keys = [("a", 1), ("a", 2), ("b", 1), ("b", 2), ("b", 3)]
    for draw in hierarchical_resamples(keys, 200, np.random.default_rng(0)):
        starts = [keys[i][0] for i in draw]
        # every drawn warm start contributes as many seeds as it has, all of its own
        assert len(draw) in (4, 5, 6) and sorted(starts) == sorted(starts)
        assert starts.count("a") % 2 == 0 and starts.count("b") % 3 == 0


def test_probability_of_improvement_is_rliables_mann_whitney_share():
    assert probability_of_improvement(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.5
    assert probability_of_improvement(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert probability_of_improvement(np.array([2.0]), np.array([1.0, 3.0])) == 0.5
    values = {("w", i): float(i) + 10 for i in range(6)}
    reference = {("w", i): float(i) for i in range(6)}
    point, low, high = hierarchical_interval(values, reference, probability_of_improvement, resamples=200)
    assert point == 1.0 and low == high == 1.0
