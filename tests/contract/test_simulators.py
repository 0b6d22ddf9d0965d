"""Every user simulator keeps the same contract (`llm` against the scripted HTTP server)."""

import pytest

from workers.env.scenarios.english_scenarios import english_split
from workers.env.scorer.strategy_scorer import judge_reply
from workers.env.users.emotion_track import SATISFIED
from workers.env.users.llm_simulator import ChatEndpoint
from workers.env.users.llm_user_config import LlmSettings
from workers.env.users.simulator import SIMULATORS, make_simulator

SCENARIOS = english_split("all")[::17]
REPLY = "I am here and I am listening. Tell me more."


@pytest.fixture(params=SIMULATORS)
def make(request, openai_stub):
    endpoint = ChatEndpoint(LlmSettings(endpoint=openai_stub.url, model="stub")) if request.param == "llm" else None

    def build(**kw):
        return make_simulator(request.param, endpoint=endpoint, **kw)

    build.name = request.param
    return build


@pytest.mark.parametrize("difficulty", [0.0, 0.5, 1.0])
def test_dialogues_end_within_max_turns_with_emotion_in_range(make, difficulty):
    for scenario in SCENARIOS:
        sim = make(max_turns=4, pass_threshold=70, seed=1)
        opening = sim.start(scenario, difficulty)
        assert isinstance(opening, str) and opening
        assert 0 <= sim.emotion <= 100
        replies = 0
        while True:
            reply = sim.step(REPLY)
            replies += 1
            assert 0 <= reply.emotion <= 100 and reply.message
            if make.name == "rule":
                assert reply.label == judge_reply(REPLY).label
            if reply.done or replies > 4:
                break
        assert reply.done and replies <= 4
        assert replies == 4 or reply.emotion >= SATISFIED or reply.emotion < 70


def test_same_seed_same_dialogue(make):
    transcripts = []
    for _ in range(2):
        sim = make(max_turns=3, pass_threshold=70, seed=5)
        lines = [sim.start(SCENARIOS[0], 0.4)]
        lines.append(sim.step("You could try a first step.").message)
        transcripts.append(lines)
    assert transcripts[0] == transcripts[1]


def test_step_before_start_is_an_error(make):
    with pytest.raises(RuntimeError, match="before start"):
        make(max_turns=3, pass_threshold=70, seed=0).step("hi")


def test_unknown_simulator_is_named():
    with pytest.raises(ValueError, match=r"simulator\.name: unknown simulator 'oracle'"):
        make_simulator("oracle", max_turns=3, pass_threshold=70, seed=0)


def test_llm_without_endpoint_is_refused():
    with pytest.raises(ValueError, match="endpoint"):
        make_simulator("llm", max_turns=3, pass_threshold=70, seed=0)
