"""The `llm` simulator against a real `vllm serve` on CPU, the tiny policy standing in for the
simulator LLM: its analyses rarely parse, which exercises the fallback path end to end. (RLVER's
Chinese rows run against the scripted server only: byte-level tokens of a long Chinese persona
overflow the tiny model's context.)"""

import pytest

from workers.env.scenarios.scenario_bank import load_scenarios
from workers.env.users.llm_simulator import HELPED, HURT, NEUTRAL, UNPARSED, ChatEndpoint, LlmSimulator
from workers.env.users.llm_user_config import LlmSettings
from workers.env.users.rlver_user import RlverUser
from workers.env.users.simulator import start_all, step_all

pytestmark = pytest.mark.slow


def test_dialogues_run_against_vllm_serve_and_unreadable_analyses_fall_back(vllm_server):
    endpoint = ChatEndpoint(LlmSettings(endpoint=vllm_server, model="tiny-sim", timeout_s=60, concurrency=4))
    scenarios = load_scenarios("en", "test")[:6]
    sims = [LlmSimulator(endpoint, max_turns=2, pass_threshold=70.0) for _ in scenarios]
    openings = start_all(sims, scenarios, [0.5] * len(scenarios))
    assert all(isinstance(o, str) and o for o in openings)
    turns = step_all(sims, ["Tell me more, I am listening."] * len(sims))
    assert all(0 <= t.emotion <= 100 and t.message for t in turns)
    assert all(t.label in (HELPED, HURT, NEUTRAL, UNPARSED) for t in turns)
    for t in turns:
        assert t.parse_failures == (t.label == UNPARSED)


def test_the_rlver_user_runs_against_vllm_serve_and_re_asks_then_falls_back(vllm_server):
    settings = LlmSettings(endpoint=vllm_server, model="tiny-sim", timeout_s=60, concurrency=4, analysis_max_tokens=64)
    endpoint = ChatEndpoint(settings)
    scenarios = load_scenarios("en", "test")[:4]
    users = [RlverUser(endpoint, max_turns=2, seed=i, analysis_retries=1) for i in range(len(scenarios))]
    assert all(start_all(users, scenarios, [0.5] * len(scenarios)))
    turns = step_all(users, ["Tell me more, I am listening."] * len(users))
    for t in turns:
        assert 0 <= t.emotion <= 100 and t.message and t.label in (HELPED, HURT, NEUTRAL, UNPARSED)
        assert t.parse_failures <= 2 and (t.label == UNPARSED) == (t.parse_failures == 2)
        assert t.label != UNPARSED or t.emotion == 20  # 30, less the unreadable analysis's -10
    usage = endpoint.take_usage().overall
    assert usage.requests == len(users) * 2 + sum(1 + min(t.parse_failures, 1) for t in turns)
    assert usage.prompt_tokens > usage.completion_tokens > 0 and usage.unreported == 0
