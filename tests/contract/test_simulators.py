"""Every user simulator keeps the same contract."""

import pytest

from workers.env.scenario_bank import english_split
from workers.env.simulator import SIMULATORS, make_simulator
from workers.env.strategy_scorer import judge_reply

SCENARIOS = english_split("all")[::17]


@pytest.fixture(params=SIMULATORS)
def simulator_name(request):
    return request.param


@pytest.mark.parametrize("difficulty", [0.0, 0.5, 1.0])
def test_dialogues_end_within_max_turns_with_emotion_in_range(simulator_name, difficulty):
    for scenario in SCENARIOS:
        sim = make_simulator(simulator_name, max_turns=4, pass_threshold=70, seed=1)
        opening = sim.start(scenario, difficulty)
        assert isinstance(opening, str) and opening
        assert 0 <= sim.emotion <= 100
        replies = 0
        while True:
            reply = sim.step("I am here and I am listening. Tell me more.")
            replies += 1
            assert 0 <= reply.emotion <= 100 and reply.message
            assert reply.label == judge_reply("I am here and I am listening. Tell me more.").label
            if reply.done or replies > 4:
                break
        assert reply.done and replies <= 4


def test_same_seed_same_dialogue(simulator_name):
    transcripts = []
    for _ in range(2):
        sim = make_simulator(simulator_name, max_turns=3, pass_threshold=70, seed=5)
        lines = [sim.start(SCENARIOS[0], 0.4)]
        lines.append(sim.step("You could try a first step.").message)
        transcripts.append(lines)
    assert transcripts[0] == transcripts[1]


def test_unknown_simulator_is_named():
    with pytest.raises(ValueError, match=r"simulator\.name: unknown simulator 'oracle'"):
        make_simulator("oracle", max_turns=3, pass_threshold=70, seed=0)
