"""The simulator's defining properties, checked over the whole scenario bank."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.rule_simulator import RuleSimulator
from workers.env.scenario_bank import english_split
from workers.env.scripted_policies import SCRIPTED_POLICIES, detect_intent, scripted_policy
from workers.env.simulator import SATISFIED

THRESHOLD = 70.0
LEVELS = np.round(np.linspace(0.0, 1.0, 21), 3)
BANK = english_split("all")


def play(policy_name, scenario, difficulty, max_turns=3):
    policy = scripted_policy(policy_name)
    sim = RuleSimulator(max_turns=max_turns, pass_threshold=THRESHOLD)
    messages = [sim.start(scenario, difficulty)]
    for turn in range(max_turns):
        reply = sim.step(policy(scenario.id, messages, turn))
        messages.append(reply.message)
        if reply.done:
            break
    return sim.emotion


def rates(policy_name):
    finals = np.array([[play(policy_name, s, float(d)) for s in BANK] for d in LEVELS])
    return (finals >= THRESHOLD).mean(axis=1), finals.mean(axis=1)


@pytest.mark.parametrize("policy_name", sorted(SCRIPTED_POLICIES))
def test_pass_rate_is_non_increasing_in_difficulty(policy_name):
    pass_rate, _ = rates(policy_name)
    assert np.all(np.diff(pass_rate) <= 1e-12), dict(zip(LEVELS, pass_rate, strict=False))


def test_stuffing_scores_below_matching_at_every_level():
    _, matching = rates("matching")
    _, stuffing = rates("stuffing")
    assert np.all(stuffing < matching)


def test_matching_beats_generic_and_the_easy_end_is_passable():
    m_pass, m_score = rates("matching")
    _g_pass, g_score = rates("generic")
    assert np.all(m_score >= g_score)
    assert m_pass[0] == 1.0 and m_pass[-1] < m_pass[0]


@settings(max_examples=60, deadline=None)
@given(
    idx=st.integers(0, len(BANK) - 1),
    d1=st.floats(0, 1),
    d2=st.floats(0, 1),
    policy_name=st.sampled_from(["generic", "advice", "random", "stuffing"]),
)
def test_each_dialogue_of_a_blind_policy_passes_no_more_often_when_harder(idx, d1, d2, policy_name):
    lo, hi = sorted((d1, d2))
    scenario = BANK[idx]
    assert (play(policy_name, scenario, hi) >= THRESHOLD) <= (play(policy_name, scenario, lo) >= THRESHOLD)


def test_fitting_replies_relieve_a_share_of_the_distress_left_until_the_user_is_content():
    scenario = next(s for s in BANK if s.intent == "listen" and s.personality == "negative")
    sim = RuleSimulator(max_turns=8, pass_threshold=THRESHOLD)
    sim.start(scenario, 0.0)
    emotions = [sim.emotion]
    while True:
        turn = sim.step(phrase_bank().strategies["listen"].replies[0])
        emotions.append(turn.emotion)
        assert turn.label == "listen"
        if turn.done:
            break
    assert emotions[1] == pytest.approx(55 + 0.6 * 45)
    gains = np.diff(emotions)
    assert np.all(gains > 0) and np.all(np.diff(gains) < 0)
    assert SATISFIED <= turn.emotion < 100 and turn.message in phrase_bank().reactions["goodbye"]


def test_matching_final_emotion_falls_as_difficulty_rises():
    """Smoothly while the user still reveals the need (d < 0.9); past that the matching policy is
    blind and its score depends on how soon patience runs out, but stays far below."""
    _, score = rates("matching")
    revealing = LEVELS < 0.9
    assert np.all(np.diff(score[revealing]) < 0)
    assert score[revealing].min() > score[~revealing].max()


def test_patience_ends_the_dialogue_early_when_hard():
    scenario = next(s for s in BANK if s.intent == "listen" and s.personality == "avoidant")
    sim = RuleSimulator(max_turns=8, pass_threshold=THRESHOLD)
    sim.start(scenario, 1.0)
    turn = sim.step("You could try a plan.")
    assert turn.done and 0.0 <= turn.emotion < THRESHOLD


def test_opening_reveals_less_as_difficulty_rises():
    scenario = BANK[0]
    sim = RuleSimulator(max_turns=3, pass_threshold=THRESHOLD)
    assert detect_intent([sim.start(scenario, 0.0)]) == scenario.intent
    assert detect_intent([sim.start(scenario, 0.5)]) == scenario.intent
    assert detect_intent([sim.start(scenario, 0.9)]) is None


def test_step_before_start_is_an_error():
    with pytest.raises(RuntimeError, match="before start"):
        RuleSimulator(max_turns=3, pass_threshold=THRESHOLD).step("hi")


def test_all_eight_intents_and_three_personalities_are_in_both_splits():
    for split in ("train", "test"):
        scenarios = english_split(split)
        assert {s.intent for s in scenarios} == set(STRATEGY_NAMES)
        assert {s.personality for s in scenarios} == {"negative", "passive", "avoidant"}
    assert not {s.topic for s in english_split("train")} & {s.topic for s in english_split("test")}
