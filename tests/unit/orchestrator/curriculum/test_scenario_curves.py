import math

import numpy as np
import pytest

from orchestrator.curriculum.scenario_curves import BucketObservation, fit_bucket_curves


def sampled(offsets: dict[str, float], groups: int, seed: int = 0, a: float = 1.0, b: float = 4.0) -> list[BucketObservation]:
    rng = np.random.default_rng(seed)
    out = []
    for bucket, u in offsets.items():
        for d in rng.uniform(0, 1, groups):
            p = 1 / (1 + math.exp(-(a + u - b * d)))
            out.append(BucketObservation(float(d), float(rng.binomial(8, p)), 8.0, age=0, bucket=bucket))
    return out


def test_each_buckets_level_for_the_target_is_recovered():
    curves = fit_bucket_curves(sampled({"listen/negative": 1.0, "advise/passive": -1.0}, groups=400), decay=1.0)
    levels = curves.levels(0.5, ["listen/negative", "advise/passive"], ahead=0)
    assert levels["listen/negative"] == pytest.approx(2.0 / 4.0, abs=0.06)
    assert levels["advise/passive"] == pytest.approx(0.0, abs=0.06)
    assert curves.pass_rate("listen/negative", levels["listen/negative"]) == pytest.approx(0.5, abs=1e-6)


def test_a_bucket_seen_once_is_pooled_towards_the_others():
    many = sampled({"a": 0.0, "b": 0.0}, groups=200)
    alone = [BucketObservation(0.9, 8.0, 8.0, age=0, bucket="c")]  # one all-pass group, far up the knob
    levels = fit_bucket_curves(many + alone, decay=1.0).levels(0.5, ["a", "c"], ahead=0)
    assert levels["a"] < levels["c"] < 0.9 + 0.25


def test_thompson_draws_scatter_around_the_posterior_mode_and_repeat_with_the_seed():
    curves = fit_bucket_curves(sampled({"a": 0.5, "b": -0.5}, groups=20), decay=1.0)
    mode = curves.levels(0.5, ["a", "new"])
    draws = [curves.levels(0.5, ["a", "new"], np.random.default_rng(seed)) for seed in range(300)]
    assert np.std([d["a"] for d in draws]) > 0.01
    assert np.mean([d["a"] for d in draws]) == pytest.approx(mode["a"], abs=0.05)
    assert np.std([d["new"] for d in draws]) > np.std([d["a"] for d in draws])  # unseen: the prior's spread
    assert curves.levels(0.5, ["a"], np.random.default_rng(7)) == curves.levels(0.5, ["a"], np.random.default_rng(7))


def test_the_decay_must_be_a_recency_weight():
    with pytest.raises(ValueError, match="decay"):
        fit_bucket_curves([], decay=0.0)
