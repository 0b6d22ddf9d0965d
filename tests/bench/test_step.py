import pytest

from bench.step import breakdown
from orchestrator.step_timing import StepTiming


def timing() -> StepTiming:
    t = StepTiming(step_s=2.0)
    t.phases |= {"generate": 0.5, "simulate": 0.1, "score": 0.01, "learn": 0.9, "sync": 0.2, "log": 0.05}
    t.parts |= {"rollout_wait": 0.65, "learner_update": 0.85, "learner_forward": 0.3, "learner_backward": 0.5}
    t.parts |= {"learner_optimizer": 0.02, "sync_snapshot": 0.05}
    return t


@pytest.mark.parametrize("pipelined", [False, True])
def test_the_parts_of_a_step_sum_to_its_wall_time(pipelined):
    rows = breakdown(timing(), pipelined)
    assert sum(rows.values()) == pytest.approx(2.0)
    assert rows["learner_other"] == pytest.approx(0.03) and rows["learner_calls"] == pytest.approx(0.05)
    assert rows["sync_load"] == pytest.approx(0.15)
    if pipelined:
        assert "generate" not in rows and rows["rollout_wait"] == 0.65, "a pipelined rollout runs behind the update"
    else:
        assert rows["rollout_calls"] == pytest.approx(0.05) and rows["driver"] == pytest.approx(0.19)
