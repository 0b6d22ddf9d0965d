import numpy as np
import pytest

from orchestrator.stats.calibration import family_claims, resampled_false_positive_rate, simulated_false_positive_rate


@pytest.mark.parametrize("pairs", [5, 20])
@pytest.mark.parametrize("distribution", ["normal", "t3"])
def test_the_verdict_rule_claims_no_more_than_alpha_on_simulated_nulls(pairs, distribution):
    rate = simulated_false_positive_rate(4.0, pairs, comparisons=2, draws=600, distribution=distribution)
    assert rate.within_nominal and rate.rate <= 0.07


def test_five_pairs_never_carry_a_claim():
    assert simulated_false_positive_rate(4.0, 5, comparisons=1, draws=200).rate == 0.0


def test_real_nulls_are_symmetrised_so_a_chance_offset_is_no_effect():
    # an A/A pool whose mean is well off 0: resampled as is it would claim most of the time
    offset = np.random.default_rng(0).normal(2.0, 1.0, 20)
    rate = resampled_false_positive_rate(offset, 12, comparisons=2, draws=400)
    assert rate.rate <= 0.07


def test_a_real_difference_is_claimed():
    diffs = np.random.default_rng(1).normal(5.0, 2.0, size=(2, 12))
    assert family_claims(diffs, 0.05)
    with pytest.raises(ValueError, match="at least 3"):
        resampled_false_positive_rate([0.1, -0.1], 5, 1)
