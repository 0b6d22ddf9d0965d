"""Every difficulty controller keeps the same contract."""

import pytest

from orchestrator.config import load_config
from orchestrator.controllers import BatchStats, make_controller

NAMES = ["fixed", "linear"]


@pytest.mark.parametrize("name", NAMES)
def test_proposals_stay_in_the_unit_interval_and_survive_a_state_round_trip(name):
    cfg = load_config(None, [f"curriculum.controller={name}", "trainer.steps=20"])
    controller = make_controller(cfg)
    for step in range(10):
        d = controller.propose(step)
        assert 0.0 <= d <= 1.0
        controller.observe(step, d, BatchStats(pass_rate=step / 10, informative_group_frac=0.5, reward_mean=0.4))
    restored = make_controller(cfg)
    restored.load_state_dict(controller.state_dict())
    assert [restored.propose(s) for s in range(10, 20)] == [controller.propose(s) for s in range(10, 20)]
