import math
import warnings

import numpy as np
import pytest

from orchestrator.curriculum.pass_curve import (
    Observation,
    PassCurve,
    adarft_step,
    band_distance,
    fit_pass_curve,
    informative_fraction,
    sampling_noise_var,
)


def test_the_fit_recovers_a_known_curve_from_binomial_groups():
    rng = np.random.default_rng(0)
    a, b = 2.0, 5.0
    obs = []
    for d in np.linspace(0.1, 0.9, 9):
        p = 1 / (1 + math.exp(-(a - b * d)))
        obs += [Observation(float(d), float(rng.binomial(8, p)), 8, age=0) for _ in range(20)]
    curve = fit_pass_curve(obs, decay=1.0)
    assert curve.a == pytest.approx(a, abs=0.3) and curve.b == pytest.approx(b, abs=0.6)
    assert curve.difficulty_for(0.5) == pytest.approx(a / b, abs=0.05)
    assert curve.pass_rate(curve.difficulty_for(0.3)) == pytest.approx(0.3)


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (0.5, 4.0), (3.0, 4.0)])
def test_mixed_outcome_counts_alone_locate_the_most_informative_difficulty(a, b):
    """Blind to the side of p = 0.5 a group lies on, the informative fit still finds p = 0.5,
    less precisely than the pass counts do."""
    rng = np.random.default_rng(1)
    obs = []
    for d in np.linspace(0.0, 1.0, 21):
        p = 1 / (1 + math.exp(-(a - b * d)))
        obs += [Observation(float(d), float(rng.binomial(8, p)), 8, age=0) for _ in range(8)]
    informative = fit_pass_curve(obs, decay=1.0, signal="informative_frac")
    counts = fit_pass_curve(obs, decay=1.0)
    assert informative.b > 0
    assert informative.difficulty_for(0.5) == pytest.approx(a / b, abs=0.1)
    assert informative.slope_sd > counts.slope_sd


def test_informative_fraction_peaks_at_even_odds():
    assert informative_fraction(0.5, 8) == pytest.approx(1 - 2 / 256)
    assert informative_fraction(0.4, 8) == pytest.approx(informative_fraction(0.6, 8))
    assert informative_fraction(0.0, 8) == 0.0 == informative_fraction(1.0, 8)


def test_the_fit_follows_a_policy_that_improves():
    rising = [Observation(0.5, min(8, 1 + (10 - age)), 8, age=age) for age in range(11)]
    curve = fit_pass_curve(rising, decay=0.9)
    assert curve.drift > 0
    assert curve.pass_rate(0.5) > 0.7 and curve.pass_rate(0.5, ahead=1) > curve.pass_rate(0.5)
    assert curve.difficulty_for(0.5, ahead=1) > curve.difficulty_for(0.5)


def test_a_long_window_of_a_fast_learner_gives_a_finite_curve():
    """All-fail groups long ago, all-pass ones lately: the drift term drives the oldest fitted rates
    to exactly 0, which once made the score 0/0 (NaN), which Optuna then refused as a difficulty."""
    saturated = [Observation(0.3, 8 * (age < 15), 8, age=age) for age in range(30) for _ in range(12)]
    for signal in ("pass_rate", "informative_frac"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            curve = fit_pass_curve(saturated, decay=1.0, signal=signal)
        assert all(math.isfinite(x) for x in (curve.a, curve.b, curve.drift, curve.slope_sd))
        assert math.isfinite(curve.difficulty_for(0.5, ahead=1))


def test_a_jittered_batch_is_aimed_by_its_average_over_the_jitter():
    cliff = PassCurve(a=24.0, b=30.0, slope_sd=1.0)
    assert cliff.batch_pass_rate(0.8, spread=0.0) == pytest.approx(cliff.pass_rate(0.8))
    assert cliff.batch_pass_rate(0.8, spread=0.1) == pytest.approx(
        np.mean([cliff.pass_rate(x) for x in np.linspace(0.7, 0.9, 20001)]), abs=1e-3
    )
    for target in (0.3, 0.5, 0.7):
        centre = cliff.difficulty_for(target, spread=0.1)
        assert cliff.batch_pass_rate(centre, spread=0.1) == pytest.approx(target, abs=1e-6)
    # Symmetric about the cliff's middle for target 0.5; further out for other targets, since
    # the jittered batch's own curve is flatter than a single level's.
    assert cliff.difficulty_for(0.5, spread=0.1) == pytest.approx(cliff.difficulty_for(0.5), abs=1e-6)
    assert cliff.difficulty_for(0.3, spread=0.1) > cliff.difficulty_for(0.3)
    # Groups are clipped to [0, 1] as the driver draws them: near the top, the jitter's upper
    # half all lands on 1.
    assert cliff.batch_pass_rate(0.95, spread=0.1) == pytest.approx(
        np.mean([cliff.pass_rate(min(1.0, x)) for x in np.linspace(0.85, 1.05, 20001)]), abs=1e-3
    )


def test_evidence_at_one_difficulty_is_uncertain_about_the_slope():
    one = fit_pass_curve([Observation(0.4, 4, 8, age=0)], decay=1.0)
    many = fit_pass_curve([Observation(d, 8 * (1 - d), 8, age=0) for d in np.linspace(0, 1, 11) for _ in range(5)], decay=1.0)
    assert one.slope_sd > 1.5 > many.slope_sd


def test_band_distance_is_zero_inside_and_linear_outside():
    assert band_distance(0.5, 0.4, 0.6) == 0 and band_distance(0.4, 0.4, 0.6) == 0
    assert band_distance(0.1, 0.4, 0.6) == pytest.approx(0.3) and band_distance(0.9, 0.4, 0.6) == pytest.approx(0.3)


def test_sampling_noise_by_hand():
    assert sampling_noise_var([0.0, 1.0]) == pytest.approx(0.5 / 2)
    assert sampling_noise_var([0.5, 0.5, 0.5]) == 0
    assert sampling_noise_var([0.3]) == 0


def test_adarft_moves_towards_the_target_and_clips():
    assert adarft_step(0.5, 0.9, 0.5, eta=0.5, alpha=2) == pytest.approx(0.5 + 0.5 * math.tanh(0.8))
    assert adarft_step(0.5, 0.1, 0.5, eta=0.5, alpha=2) < 0.5
    assert adarft_step(0.5, 0.5, 0.5, eta=0.5, alpha=2) == 0.5
    assert adarft_step(0.95, 1.0, 0.5, eta=0.5, alpha=2) == 1.0 and adarft_step(0.0, 0.0, 0.5, eta=0.5, alpha=2) == 0.0


def test_decay_outside_its_range_is_refused():
    with pytest.raises(ValueError, match="decay"):
        fit_pass_curve([], decay=0.0)
