import pytest

from orchestrator.config import load_config
from orchestrator.controllers import BatchStats, FixedController, LinearController, make_controller


def test_fixed_never_moves():
    c = FixedController(0.4)
    c.observe(0, 0.4, BatchStats(1.0, 0.0, 1.0))
    assert [c.propose(s) for s in range(3)] == [0.4, 0.4, 0.4]


def test_linear_ramps_from_start_to_end():
    c = LinearController(0.2, 0.8, steps=4)
    assert [c.propose(s) for s in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert c.propose(10) == pytest.approx(0.8)


def test_factory_reads_the_config():
    assert isinstance(make_controller(load_config(None, ["curriculum.controller=linear"])), LinearController)
    assert make_controller(load_config(None, ["curriculum.initial_difficulty=0.55"])).propose(0) == 0.55
