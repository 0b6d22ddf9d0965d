"""per_scenario on a synthetic learner whose scenario buckets differ by 2 in logit at any level."""

import numpy as np

from orchestrator.config import load_config
from orchestrator.curriculum.controllers import make_controller
from tests.support.synthetic_learner import SyntheticLearner

OFFSETS = {"listen/negative": 1.5, "advise/passive": 0.0, "vent/avoidant": -1.5}


def per_bucket_pass_rates(controller_name: str, steps: int = 40, seed: int = 0) -> dict[str, float]:
    cfg = load_config(None, [f"curriculum.controller={controller_name}", "curriculum.initial_difficulty=0.3", f"seed={seed}"])
    controller = make_controller(cfg, "run", None)
    learner = SyntheticLearner(rng=np.random.default_rng(seed), bucket_offsets=OFFSETS, rate=0.02, groups=24)
    rates: dict[str, list[float]] = {b: [] for b in OFFSETS}
    for step in range(steps):
        buckets = learner.draw_buckets()
        proposal = controller.propose(step, buckets=buckets)
        d = proposal.difficulty
        levels = list(proposal.group_levels or [d] * len(buckets))
        if step >= steps // 2:
            for bucket, level in zip(buckets, levels, strict=True):
                rates[bucket].append(learner.bucket_pass_rate(bucket, level))
        controller.observe(step, d, learner.step(levels, buckets=buckets))
    return {b: float(np.mean(r)) for b, r in rates.items()}


def test_every_bucket_is_held_near_the_band_centre_where_one_level_for_all_cannot():
    ours = per_bucket_pass_rates("per_scenario")
    band = per_bucket_pass_rates("band")
    assert all(abs(p - 0.5) < 0.12 for p in ours.values()), ours
    assert max(abs(p - 0.5) for p in band.values()) > 0.25, band


def test_groups_of_one_bucket_move_at_most_max_step_between_steps():
    cfg = load_config(None, ["curriculum.controller=per_scenario", "curriculum.max_step=0.05"])
    controller = make_controller(cfg, "run", None)
    learner = SyntheticLearner(rng=np.random.default_rng(1), bucket_offsets=OFFSETS)
    last: dict[str, float] = {}
    for step in range(15):
        buckets = learner.draw_buckets()
        proposal = controller.propose(step, buckets=buckets)
        d = proposal.difficulty
        for bucket, level in zip(buckets, proposal.group_levels, strict=True):
            assert abs(level - last.get(bucket, level)) <= 0.05 + 1e-9 or bucket not in last
        step_levels: dict[str, list[float]] = {}
        for bucket, level in zip(buckets, proposal.group_levels, strict=True):
            step_levels.setdefault(bucket, []).append(level)
        last |= {b: float(np.mean(v)) for b, v in step_levels.items()}
        controller.observe(step, d, learner.step(proposal.levels, buckets=buckets))


def test_per_scenario_refuses_jitter_and_the_informative_signal():
    import pytest

    from orchestrator.config import ConfigError

    for extra in ("curriculum.spread=0.2", "curriculum.signal=informative_frac"):
        with pytest.raises(ConfigError, match="per_scenario"):
            load_config(None, ["curriculum.controller=per_scenario", extra])
