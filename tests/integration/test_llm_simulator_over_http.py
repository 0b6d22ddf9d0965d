"""The `llm` simulator against a scripted OpenAI-compatible server: happy path, malformed
analyses, transient errors with retries, timeouts, an endpoint that stays down, concurrency."""

import time

import pytest

from tests.support.openai_stub import Answer, default_answer, is_analysis, words
from workers.env.scenarios.scenario_bank import load_scenarios
from workers.env.users.difficulty import episode_draws, rule_knobs
from workers.env.users.llm_simulator import ChatEndpoint, LlmSimulator, SimulatorUnavailable
from workers.env.users.llm_user_config import LlmSettings
from workers.env.users.simulator import start_all, step_all

SCENARIO = load_scenarios("en", "test")[0]


def simulator(stub, **overrides) -> LlmSimulator:
    settings = LlmSettings(endpoint=stub.url, model="stub-model", **({"backoff_s": 0.01, "retry_budget_s": 0.0} | overrides))
    return LlmSimulator(ChatEndpoint(settings), max_turns=3, pass_threshold=70.0)


def test_a_turn_moves_emotion_by_the_scaled_change_and_returns_the_users_message(openai_stub):
    sim = simulator(openai_stub)
    opening = sim.start(SCENARIO, 0.2)
    assert opening == "I still feel a bit low about it."
    start = sim.emotion
    turn = sim.step("Tell me more, I am listening.")
    knobs = rule_knobs(0.2, SCENARIO.personality, episode_draws(sim.seed, SCENARIO.id))
    assert turn.emotion == pytest.approx(start + 0.5 * knobs.relief * (100 - start))
    assert turn.label == "helped" and turn.parse_failures == 0 and not turn.done
    assert turn.message == "I still feel a bit low about it."
    analysis = next(r for r in openai_stub.requests if is_analysis(r))
    assert analysis["model"] == "stub-model" and isinstance(analysis["seed"], int)
    assert "agree that I was not wrong" in analysis["messages"][0]["content"]
    transcript = analysis["messages"][1]["content"]
    tag = transcript.split("<")[1].split(">")[0]
    assert tag.startswith("reply-") and f"<{tag}>" in analysis["messages"][0]["content"]
    assert transcript.endswith(f"listener:\n<{tag}>\nTell me more, I am listening.\n</{tag}>")


def test_the_simulator_plays_the_user_so_the_agent_speaks_as_user_in_its_chat(openai_stub):
    sim = simulator(openai_stub)
    sim.start(SCENARIO, 0.2)
    sim.step("Go on.")
    reply_request = [r for r in openai_stub.requests if not is_analysis(r)][-1]
    roles = [m["role"] for m in reply_request["messages"]]
    assert roles == ["system", "assistant", "user"]
    assert reply_request["messages"][-1]["content"] == "Go on."


def test_the_endpoint_counts_requests_tokens_and_latency_from_the_answers_usage(openai_stub):
    openai_stub.respond = lambda r: Answer(default_answer(r).content, delay_s=0.05)
    sim = simulator(openai_stub)
    sim.start(SCENARIO, 0.2)
    sim.step("Tell me more.")
    usage = sim.endpoint.take_usage().overall
    answers = [default_answer(r).content for r in openai_stub.requests]
    assert usage.requests == len(openai_stub.requests) == 3 and usage.unreported == 0
    assert usage.prompt_tokens == sum(words(r) for r in openai_stub.requests)
    assert usage.completion_tokens == sum(len(a.split()) for a in answers)
    assert len(usage.latencies_s) == 3 and min(usage.latencies_s) >= 0.05
    metrics = usage.metrics("simulator")
    assert metrics["simulator/requests"] == 3 and 0.05 <= metrics["simulator/latency_p50_s"] <= metrics["simulator/latency_p95_s"]
    assert sim.endpoint.take_usage().overall.requests == 0


def test_an_answer_without_usage_is_counted_as_unreported(openai_stub):
    openai_stub.respond = lambda r: Answer(default_answer(r).content, usage=False)
    sim = simulator(openai_stub)
    sim.start(SCENARIO, 0.2)
    usage = sim.endpoint.take_usage().overall
    assert (usage.requests, usage.unreported, usage.prompt_tokens) == (1, 1, 0)


@pytest.mark.parametrize(
    "answer",
    [Answer("I feel great!! no json here"), Answer('{"change": 8, "reason": "that helps a lot, and so', finish="length")],
)
def test_an_unreadable_or_cut_analysis_is_a_counted_failure_worth_the_worst_change(openai_stub, answer):
    """Breaking the analyser must never pay: an analysis that cannot be read, or that stopped at
    its token limit, counts as `unreadable_change` (-10: a full penalty); 0 is the old rule."""
    openai_stub.respond = lambda r: answer if is_analysis(r) else default_answer(r)
    for unreadable, expected in ((-10.0, "penalty"), (0.0, "none")):
        sim = simulator(openai_stub, unreadable_change=unreadable)
        sim.start(SCENARIO, 0.2)
        start = sim.emotion
        turn = sim.step("Hello.")
        knobs = rule_knobs(0.2, SCENARIO.personality, episode_draws(sim.seed, SCENARIO.id))
        assert turn.parse_failures == 1 and turn.label == "unparsed"
        assert turn.emotion == pytest.approx(max(0.0, start - knobs.penalty) if expected == "penalty" else start)


def test_server_errors_are_retried_with_backoff(openai_stub):
    failures = {"left": 2}

    def flaky(request):
        if failures["left"]:
            failures["left"] -= 1
            return Answer(status=503)
        return default_answer(request)

    openai_stub.respond = flaky
    sim = simulator(openai_stub, max_retries=3)
    assert sim.start(SCENARIO, 0.2)
    assert len(openai_stub.requests) == 3


def test_a_slow_answer_times_out_and_is_retried(openai_stub):
    calls = {"n": 0}

    def slow_first(request):
        calls["n"] += 1
        return Answer("Fine.", delay_s=3.0) if calls["n"] == 1 else default_answer(request)

    openai_stub.respond = slow_first
    sim = simulator(openai_stub, timeout_s=0.6, max_retries=2)
    tick = time.perf_counter()
    assert sim.start(SCENARIO, 0.2) == "I still feel a bit low about it."
    assert time.perf_counter() - tick < 3.0  # retried before the slow answer would have come


def test_an_endpoint_that_stays_down_raises_a_clear_error(openai_stub):
    openai_stub.respond = lambda r: Answer(status=500)
    sim = simulator(openai_stub, max_retries=2)
    with pytest.raises(SimulatorUnavailable, match=r"127\.0\.0\.1.*stub-model.*3 tries"):
        sim.start(SCENARIO, 0.2)
    assert len(openai_stub.requests) == 3


def test_retries_ride_out_an_endpoint_restart_within_the_retry_budget(openai_stub):
    """Connections refused for 1.5 s: two retries alone give up, a 10 s budget waits it out."""
    sim = simulator(openai_stub, max_retries=2, backoff_s=0.05)
    sim.start(SCENARIO, 0.2)
    openai_stub.restart(down_s=1.5)
    with pytest.raises(SimulatorUnavailable, match=r"3 tries in \d+ s"):
        sim.step("Go on.")
    time.sleep(2.0)
    patient = simulator(openai_stub, max_retries=2, backoff_s=0.05, retry_budget_s=10.0)
    patient.start(SCENARIO, 0.2)
    openai_stub.restart(down_s=1.5)
    tick = time.perf_counter()
    assert patient.step("Go on.").message == "I still feel a bit low about it."
    assert 1.4 < time.perf_counter() - tick < 8.0


def test_a_refused_request_is_not_retried(openai_stub):
    openai_stub.respond = lambda r: Answer(status=404)
    with pytest.raises(SimulatorUnavailable, match="HTTP 404"):
        simulator(openai_stub).start(SCENARIO, 0.2)
    assert len(openai_stub.requests) == 1


def test_dialogues_are_simulated_concurrently_within_the_bound(openai_stub):
    openai_stub.respond = lambda r: Answer(default_answer(r).content, delay_s=0.5)
    endpoint = ChatEndpoint(LlmSettings(endpoint=openai_stub.url, model="m", concurrency=4))
    sims = [LlmSimulator(endpoint, max_turns=3, pass_threshold=70.0) for _ in range(8)]
    tick = time.perf_counter()
    openings = start_all(sims, [SCENARIO] * 8, [0.3] * 8)
    elapsed = time.perf_counter() - tick
    assert len(openings) == 8 and openai_stub.max_in_flight == 4
    assert elapsed < 8 * 0.5  # not one at a time
    turns = step_all(sims, ["Go on."] * 8)
    assert all(t.label == "helped" for t in turns)


def test_the_api_key_comes_from_the_named_environment_variable(openai_stub, monkeypatch):
    seen = []
    monkeypatch.setenv("GL_TEST_KEY", "sekrit")
    endpoint = ChatEndpoint(LlmSettings(endpoint=openai_stub.url, model="m", api_key_env="GL_TEST_KEY"))
    import asyncio

    async def once():
        endpoint._slots_here()
        seen.append(endpoint._client(openai_stub.url).api_key)

    asyncio.run(once())
    assert seen == ["sekrit"]


def test_chinese_scenarios_get_chinese_prompts(openai_stub):
    scenario = load_scenarios("rlver", "test")[0]
    sim = simulator(openai_stub)
    sim.start(scenario, 0.9)
    system = openai_stub.requests[0]["messages"][0]["content"]
    assert "你在扮演" in system and "绝不透露" in system


def test_json_mode_asks_for_the_analysis_schema_and_replies_stay_free_text(openai_stub):
    sim = simulator(openai_stub, json_mode=True)
    sim.start(SCENARIO, 0.2)
    sim.step("Go on.")
    analysis = next(r for r in openai_stub.requests if is_analysis(r))
    schema = analysis["response_format"]["json_schema"]["schema"]
    assert analysis["response_format"]["type"] == "json_schema" and schema["required"] == ["change", "reason"]
    assert all("response_format" not in r for r in openai_stub.requests if not is_analysis(r))
