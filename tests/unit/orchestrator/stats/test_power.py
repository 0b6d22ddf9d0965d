import numpy as np
import pytest
from scipy import stats

from orchestrator.stats.power import minimum_detectable_effect, paired_power, seeds_needed


def test_power_at_no_effect_is_the_tests_level():
    assert paired_power(0.0, 4.0, 10) == pytest.approx(0.05, abs=1e-9)
    assert paired_power(0.0, 4.0, 10, comparisons=2) == pytest.approx(0.025, abs=1e-9)


def test_the_planned_seeds_reach_the_planned_power_in_simulation():
    n = seeds_needed(3.0, 4.0, comparisons=2)
    assert paired_power(3.0, 4.0, n, comparisons=2) >= 0.8 > paired_power(3.0, 4.0, n - 1, comparisons=2)
    rng = np.random.default_rng(0)
    rejected = [stats.ttest_1samp(rng.normal(3.0, 4.0, n), 0.0).pvalue < 0.025 for _ in range(3000)]
    assert np.mean(rejected) == pytest.approx(paired_power(3.0, 4.0, n, comparisons=2), abs=0.03)


def test_the_issue_figures_five_seeds_detect_only_large_effects():
    # paired SDs of 3.6-4.7 at 5 seeds: the smallest detectable effect is 6-8 points
    assert 5.5 < minimum_detectable_effect(3.6, 5) < minimum_detectable_effect(4.7, 5) < 8.5
    assert 14 <= seeds_needed(3.0, 3.6) <= seeds_needed(3.0, 4.7) <= 22


def test_the_minimum_detectable_effect_inverts_the_power():
    mde = minimum_detectable_effect(4.0, 12, comparisons=2)
    assert paired_power(mde, 4.0, 12, comparisons=2) == pytest.approx(0.8, abs=1e-4)
    assert minimum_detectable_effect(4.0, 1) == float("inf")
    assert 0 < minimum_detectable_effect(4.02, 5, comparisons=4) < 20
    with pytest.raises(ValueError, match="effect of 0"):
        seeds_needed(0.0, 4.0)
