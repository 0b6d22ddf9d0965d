"""Every difficulty controller keeps the same contract, and resumes from its stored study."""

import numpy as np
import pytest

from orchestrator.config import load_config
from orchestrator.curriculum.controllers import make_controller
from tests.support.synthetic_learner import SyntheticLearner

NAMES = ["fixed", "linear", "adarft", "band", "progress", "per_scenario", "tpe", "gp"]
DETERMINISTIC = {"fixed", "linear", "adarft", "band", "progress", "per_scenario"}
BUCKETS = {"listen/negative": 1.0, "advise/passive": 0.0, "vent/avoidant": -1.0}


def play(controller, learner, steps, start=0):
    out = []
    for step in range(start, start + steps):
        buckets = learner.draw_buckets()
        proposal = controller.propose(step, buckets=buckets)
        d = proposal.difficulty
        assert 0.0 <= d <= 1.0 and all(0.0 <= x <= 1.0 for x in proposal.group_levels or [])
        controller.observe(step, d, learner.step(proposal.levels, buckets=buckets))
        out.append(d)
    return out


def synthetic(seed=0):
    return SyntheticLearner(rng=np.random.default_rng(seed), bucket_offsets=BUCKETS)


@pytest.mark.parametrize("name", NAMES)
def test_proposals_stay_in_the_unit_interval_and_a_resumed_run_continues_the_study(name, tmp_path):
    cfg = load_config(None, [f"curriculum.controller={name}", "trainer.steps=12"])
    storage = f"sqlite:///{tmp_path}/curriculum.db"
    first = make_controller(cfg, "run-1", storage)
    history = play(first, synthetic(0), 6)

    resumed = make_controller(cfg, "run-1", storage)
    assert resumed.completed_steps() == 6
    assert [t.params["difficulty"] for t in resumed.study.trials] == history
    if name in DETERMINISTIC:
        reference = make_controller(cfg, "run-ref", None)
        learner = synthetic(0)
        assert play(reference, learner, 6) == history
        buckets = learner.draw_buckets()
        assert resumed.propose(6, buckets=buckets) == reference.propose(6, buckets=buckets)
    if name == "band":
        assert abs(resumed.propose(6).difficulty - history[-1]) <= cfg.curriculum.max_step + 1e-9


def test_a_fresh_name_starts_a_fresh_study(tmp_path):
    cfg = load_config(None, ["curriculum.controller=band"])
    storage = f"sqlite:///{tmp_path}/curriculum.db"
    play(make_controller(cfg, "a", storage), synthetic(), 3)
    assert make_controller(cfg, "b", storage).completed_steps() == 0


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_steps_redone_after_a_checkpoint_leave_the_record(name, tmp_path):
    """A run checkpointed after 5 steps crashed after 8; resumed at 5, its controller proposes
    what it would have proposed had steps 5-7 never happened."""
    cfg = load_config(None, [f"curriculum.controller={name}", "trainer.steps=12"])
    storage = f"sqlite:///{tmp_path}/curriculum.db"
    play(make_controller(cfg, "run", storage), synthetic(0), 8)

    resumed = make_controller(cfg, "run", storage)
    assert resumed.resume_at(5) == 3 and resumed.completed_steps() == 5
    reference = make_controller(cfg, "ref", None)
    play(reference, synthetic(0), 5)
    buckets = synthetic(1).draw_buckets()
    assert resumed.propose(5, buckets=buckets) == reference.propose(5, buckets=buckets)
    assert resumed.resume_at(5) == 1  # the step just asked, never told
