"""The `rule` user's defining properties (the knob's smoothness is in test_knob.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.evaluation.held_out import PASS_THRESHOLD, final_emotions
from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.scenarios.english_scenarios import english_split
from workers.env.scripted_policies import detect_intent, scripted_policy
from workers.env.users.difficulty import rule_knobs
from workers.env.users.emotion_track import CONTENT
from workers.env.users.rule_simulator import RuleSimulator

LEVELS = np.round(np.linspace(0.0, 1.0, 11), 2)
BANK = english_split("all")


def test_stuffing_scores_below_matching_at_every_level():
    matching = final_emotions(scripted_policy("matching"), LEVELS[:-1]).mean(axis=1)
    stuffing = final_emotions(scripted_policy("stuffing"), LEVELS[:-1]).mean(axis=1)
    assert np.all(stuffing < matching)


def test_matching_beats_generic_and_the_easy_end_is_passable():
    matching = final_emotions(scripted_policy("matching"), LEVELS)
    generic = final_emotions(scripted_policy("generic"), LEVELS)
    assert np.all(matching.mean(axis=1) >= generic.mean(axis=1))
    assert (matching[0] >= PASS_THRESHOLD).mean() == 1.0 and (matching[-1] >= PASS_THRESHOLD).mean() < 0.1


@settings(max_examples=60, deadline=None)
@given(
    idx=st.integers(0, len(BANK) - 1),
    seed=st.integers(0, 10**6),
    d1=st.floats(0, 1),
    d2=st.floats(0, 1),
    policy_name=st.sampled_from(["matching", "expert", "generic", "advice", "random", "stuffing"]),
)
def test_each_dialogue_ends_no_happier_when_harder(idx, seed, d1, d2, policy_name):
    """Coupled draws: the same episode at a higher d can only end lower (or equal), for a policy
    that does no worse for seeing a cue. (`noisy50` can: a revealed cue it then answers with a
    wrong strategy costs more than the comfort it offers a user who revealed nothing; its pass
    rate and mean reward still never rise with d, over many episodes - test_knob.py.)"""
    lo, hi = sorted((d1, d2))
    policy = scripted_policy(policy_name)
    easy, hard = final_emotions(policy, [lo, hi], [BANK[idx]], [seed])[:, 0]
    assert hard <= easy + 1e-9


def test_fitting_replies_relieve_a_share_of_the_distress_left_until_the_user_is_content():
    scenario = next(s for s in BANK if s.intent == "listen" and s.personality == "negative")
    sim = RuleSimulator(max_turns=8, pass_threshold=PASS_THRESHOLD)
    sim.start(scenario, 0.0)
    emotions = [sim.emotion]
    while True:
        turn = sim.step(phrase_bank().strategies["listen"].replies[0])
        emotions.append(turn.emotion)
        assert turn.label == "listen"
        if turn.done:
            break
    assert emotions[1] == pytest.approx(emotions[0] + 0.6 * (100 - emotions[0]))
    gains = np.diff(emotions[:-1])
    assert np.all(gains > 0) and np.all(np.diff(gains) < 0)
    assert turn.emotion == CONTENT and turn.message in phrase_bank().reactions["goodbye"]


def test_a_user_who_walks_out_counts_the_skipped_turns_as_misfits():
    scenario = next(s for s in BANK if s.intent == "listen" and s.personality == "avoidant")
    sim = RuleSimulator(max_turns=8, pass_threshold=PASS_THRESHOLD)
    sim.start(scenario, 1.0)
    before = sim.emotion
    turn = sim.step("You could try making a plan for next week.")
    assert turn.done and turn.emotion == max(0.0, before - 8 * 20.0)


def test_opening_reveals_less_as_difficulty_rises():
    scenario = BANK[0]
    sim = RuleSimulator(max_turns=3, pass_threshold=PASS_THRESHOLD)
    assert detect_intent([sim.start(scenario, 0.0)]) == scenario.intent
    assert detect_intent([sim.start(scenario, 1.0)]) is None


def test_held_out_users_speak_their_own_cue_phrasings():
    bank = phrase_bank()
    for scenario in english_split("test")[:24]:
        opening = RuleSimulator(max_turns=3, pass_threshold=PASS_THRESHOLD).start(scenario, 0.0)
        cues = bank.strategies[scenario.intent]
        assert any(c in opening for c in cues.explicit["test"])
        assert not any(c in opening for c in (*cues.explicit["train"], *cues.vague["train"]))


def test_every_member_of_a_group_meets_the_same_user_and_groups_differ():
    scenario = BANK[0]
    openings = {RuleSimulator(max_turns=3, pass_threshold=PASS_THRESHOLD, seed=7).start(scenario, 0.5) for _ in range(3)}
    assert len(openings) == 1
    users = [RuleSimulator(max_turns=3, pass_threshold=PASS_THRESHOLD, seed=s) for s in range(40)]
    counterparts = {user.start(scenario, 1.0).split(" ")[1] for user in users}
    assert len(counterparts) > 1


def test_step_before_start_is_an_error():
    with pytest.raises(RuntimeError, match="before start"):
        RuleSimulator(max_turns=3, pass_threshold=PASS_THRESHOLD).step("hi")


def test_all_eight_intents_and_three_personalities_are_in_both_splits():
    for split in ("train", "test"):
        scenarios = english_split(split)
        assert {s.intent for s in scenarios} == set(STRATEGY_NAMES)
        assert {s.personality for s in scenarios} == {"negative", "passive", "avoidant"}
    assert not {s.topic for s in english_split("train")} & {s.topic for s in english_split("test")}


def _cueless(d: float, questions: int) -> tuple[RuleSimulator, object]:
    """A user at difficulty d who opens without a cue and needs `questions` questions."""
    for seed in range(500):
        for scenario in BANK:
            sim = RuleSimulator(max_turns=8, pass_threshold=PASS_THRESHOLD, seed=seed)
            if detect_intent([sim.start(scenario, d)]) is None and sim._knobs.questions_needed == questions:
                return sim, scenario
    raise AssertionError("no such user")


def test_a_caring_question_draws_a_hidden_need_out_and_its_answer_lands_in_full():
    bank = phrase_bank()
    sim, scenario = _cueless(1.0, 2)
    knobs = rule_knobs(1.0, scenario.personality, sim._knobs.draws)
    start = sim.emotion
    first = sim.step(bank.ask_replies[0])
    assert first.label == "ask" and first.message in bank.reactions["deflect"] and not first.done
    second = sim.step(bank.ask_replies[1])
    assert detect_intent([second.message]) == scenario.intent and not second.done
    assert second.emotion == pytest.approx(start - 2 * knobs.ask_cost)
    answer = sim.step(bank.strategies[scenario.intent].replies[0])
    assert answer.emotion == pytest.approx(second.emotion + knobs.relief * (100 - second.emotion))


def test_nobody_walks_out_on_a_question_but_an_unanswerable_one_tries_their_patience():
    bank = phrase_bank()
    sim, scenario = _cueless(1.0, 2)
    assert sim._knobs.patience == 1
    assert not sim.step(bank.ask_replies[0]).done
    wrong = next(s for s in STRATEGY_NAMES if s != scenario.intent)
    assert sim.step(bank.strategies[wrong].replies[0]).done


def test_asking_again_once_the_need_is_out_costs_what_a_hurtful_reply_costs():
    bank = phrase_bank()
    sim, scenario = _cueless(0.3, 1)
    told = sim.step(bank.ask_replies[0])
    assert detect_intent([told.message]) == scenario.intent
    again = sim.step(bank.ask_replies[2])
    assert again.message in bank.reactions["asked_again"]
    assert again.emotion == pytest.approx(max(0.0, told.emotion - sim._knobs.harm_penalty))


def test_a_lucky_guess_at_a_need_never_shown_relieves_less_than_an_answer_to_a_told_one():
    bank = phrase_bank()
    sim, scenario = _cueless(0.8, 1)
    start = sim.emotion
    guess = sim.step(bank.strategies[scenario.intent].replies[0])
    assert guess.emotion == pytest.approx(start + sim._knobs.guessed_relief * (100 - start))
    assert sim._knobs.guessed_relief == pytest.approx(sim._knobs.relief * (1 - 0.5 * 0.8))


def test_questions_no_fitting_reply_followed_count_as_misfits_when_the_dialogue_ends():
    """Asking, then comforting, must not be a cheap way to spend the turns a misfit would cost."""
    bank = phrase_bank()
    sim, scenario = _cueless(0.5, 1)
    sim.track.max_turns = 3
    told = sim.step(bank.ask_replies[0])
    comforted = sim.step(bank.generic_replies[0])
    last = sim.step(bank.generic_replies[1])
    assert detect_intent([told.message]) == scenario.intent and not comforted.done and last.done
    unanswered = sim._knobs.penalty - sim._knobs.ask_cost
    assert last.emotion == pytest.approx(max(0.0, comforted.emotion + sim._knobs.generic_delta - unanswered))
    answered, _ = _cueless(0.5, 1)
    answered.track.max_turns = 3
    answered.step(bank.ask_replies[0])
    fit = answered.step(bank.strategies[scenario.intent].replies[0])
    assert answered.step(bank.generic_replies[0]).emotion == pytest.approx(fit.emotion + answered._knobs.generic_delta)


def test_a_user_driven_off_by_stuffing_counts_the_skipped_turns_at_stuffings_price():
    """Found by the coupled-draws property: with patience 2 a user left after two stuffed replies
    and counted the third at a misfit's price, so the harder episode ended higher."""
    scenario = BANK[97]
    stuffing = scripted_policy("stuffing")
    easy, hard = final_emotions(stuffing, [0.40625, 0.4375], [scenario], [203222])[:, 0]
    assert hard <= easy
