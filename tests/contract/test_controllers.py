"""Every difficulty controller keeps the same contract, and resumes from its stored study."""

import numpy as np
import pytest

from orchestrator.config import load_config
from orchestrator.controllers import make_controller
from orchestrator.synthetic_learner import SyntheticLearner

NAMES = ["fixed", "linear", "adarft", "band", "tpe", "gp"]
DETERMINISTIC = {"fixed", "linear", "adarft", "band"}


def play(controller, learner, steps, start=0):
    out = []
    for step in range(start, start + steps):
        d = controller.propose(step)
        assert 0.0 <= d <= 1.0
        controller.observe(step, d, learner.step(d))
        out.append(d)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_proposals_stay_in_the_unit_interval_and_a_resumed_run_continues_the_study(name, tmp_path):
    cfg = load_config(None, [f"curriculum.controller={name}", "trainer.steps=12"])
    storage = f"sqlite:///{tmp_path}/curriculum.db"
    first = make_controller(cfg, "run-1", storage)
    history = play(first, SyntheticLearner(rng=np.random.default_rng(0)), 6)

    resumed = make_controller(cfg, "run-1", storage)
    assert resumed.completed_steps() == 6
    assert [t.params["difficulty"] for t in resumed.study.trials] == history
    if name in DETERMINISTIC:
        reference = make_controller(cfg, "run-ref", None)
        learner = SyntheticLearner(rng=np.random.default_rng(0))
        assert play(reference, learner, 6) == history
        assert resumed.propose(6) == reference.propose(6)
    if name == "band":
        assert abs(resumed.propose(6) - history[-1]) <= cfg.curriculum.max_step + 1e-9


def test_a_fresh_name_starts_a_fresh_study(tmp_path):
    cfg = load_config(None, ["curriculum.controller=band"])
    storage = f"sqlite:///{tmp_path}/curriculum.db"
    play(make_controller(cfg, "a", storage), SyntheticLearner(), 3)
    assert make_controller(cfg, "b", storage).completed_steps() == 0


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_steps_redone_after_a_checkpoint_leave_the_record(name, tmp_path):
    """A run checkpointed after 5 steps crashed after 8; resumed at 5, its controller proposes
    what it would have proposed had steps 5-7 never happened."""
    cfg = load_config(None, [f"curriculum.controller={name}", "trainer.steps=12"])
    storage = f"sqlite:///{tmp_path}/curriculum.db"
    play(make_controller(cfg, "run", storage), SyntheticLearner(rng=np.random.default_rng(0)), 8)

    resumed = make_controller(cfg, "run", storage)
    assert resumed.resume_at(5) == 3 and resumed.completed_steps() == 5
    reference = make_controller(cfg, "ref", None)
    play(reference, SyntheticLearner(rng=np.random.default_rng(0)), 5)
    assert resumed.propose(5) == reference.propose(5)
    assert resumed.resume_at(5) == 1  # the step just asked, never told
