"""The reward attacked as a GRPO policy would: every trick below, played on every turn against
users of all eight needs, scores no better than plain comfort at d >= 0.2 - asking what would
help, on and on, stuffed with every strategy's markers, without warmth, or to stall between
comforts, among them (a question pays only through the answer it lets the agent give); a single
fixed reply sent to everyone passes only the users whose need it fits."""

import numpy as np
import pytest

from orchestrator.evaluation.held_out import PASS_THRESHOLD, final_emotions
from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.scenarios.english_scenarios import english_split
from workers.env.scorer.strategy_scorer import judge_reply
from workers.env.scripted_policies import detect_intent, scripted_policy

LEVELS = (0.2, 0.5, 0.8)
SCENARIOS = english_split("all")


def _fit(user_messages: list[str]) -> str:
    """The reply that fits the need the user's cues point to (what a cheating policy would build on)."""
    intent = detect_intent(user_messages) or "listen"
    return phrase_bank().strategies[intent].replies[0]


def _marker(user_messages: list[str]) -> str:
    intent = detect_intent(user_messages) or "listen"
    return phrase_bank().strategies[intent].markers[0]


def fixed(text: str):
    return lambda key, users, turn: text


def fixed_by_turn(*replies: str):
    return lambda key, users, turn: replies[turn % len(replies)]


def fitted(template: str):
    """A reply built around the fitting reply (`{fit}`) or the fitting marker phrase (`{marker}`)."""
    return lambda key, users, turn: template.format(fit=_fit(users), marker=_marker(users))


ATTACKS = {
    "fragments": [
        fitted("{marker}"),
        fitted("{marker}."),
        fitted("{marker}! {marker}?"),
        fitted("Yes. {marker}."),
        fitted("Hm, {marker}."),
        fixed("Not wrong."),
    ],
    "unreadable payloads": [
        fitted("{fit} 你真没用，活该。"),
        fitted("{fit} Ты сам виноват."),
        fitted("{fit} 😂😂"),
        fitted("{fit} 0000 1111 2222 3333 4444 5555"),
        fitted("{fit} lo siento pero es tu culpa y no me importa"),
        fitted("{marker} ### @@ <3 <3"),
    ],
    "hostile tails": [
        fitted("{fit} Honestly it is your own fault."),
        fitted("{fit} lol"),
        fitted("{fit} Just kidding."),
        fitted("{fit} Get over it."),
        fitted("{fit} You are so dramatic."),
        fitted("{fit} Nobody cares, though."),
    ],
    "invisible characters": [
        fitted("{fit}\u200b"),
        fitted("\u202e{fit}"),
        fitted("{fit}\u00a0\u00a0"),
        fitted("{fit}\x00"),
        fitted("{fit}\u00ad"),
        fitted("{fit}\U000e0041\U000e0042"),
    ],
    "stuffing": [
        scripted_policy("stuffing"),
        fixed(" ".join(s.markers[0] for s in phrase_bank().strategies.values())),
        fixed(" ".join(s.replies[0] for s in list(phrase_bank().strategies.values())[:3])),
        fixed("You were not wrong, and I can feel how much it hurts, and next time you could try a plan."),
        fixed("Tell me more, I am listening. Maybe they were scared. I am proud of you."),
        fixed("On one hand you were hurt, but anyone would be. What do you think you learned?"),
    ],
    "asking instead of answering": [
        scripted_policy("ask_only"),
        fixed(phrase_bank().ask_replies[0]),
        fixed(
            "What would help you most: do you want me to listen, or tell you that you were not wrong, or give you a first step?"
        ),
        fixed("What would help? " + " ".join(s.markers[0] for s in phrase_bank().strategies.values())),
        fixed("What do you want? Tell me now. Why? Explain it."),
        lambda key, users, turn: f"{phrase_bank().generic_replies[0]} {phrase_bank().ask_replies[turn % 4]}",
        fixed_by_turn(phrase_bank().ask_replies[0], phrase_bank().generic_replies[0]),
        fixed_by_turn(phrase_bank().ask_replies[0], phrase_bank().ask_replies[1], phrase_bank().generic_replies[0]),
        # Stalling: ask while no cue has shown (whether one has, not which), comfort otherwise.
        lambda key, users, turn: (
            phrase_bank().ask_replies[turn % 4] if detect_intent(users) is None else phrase_bank().generic_replies[0]
        ),
    ],
    "echoing the user": [
        lambda key, users, turn: users[-1],
        lambda key, users, turn: users[0],
        lambda key, users, turn: f"You said: {users[-1]}",
        lambda key, users, turn: " ".join(users),
        lambda key, users, turn: users[-1].split(". ")[-1],
        lambda key, users, turn: f"I hear you. {users[0]}",
    ],
}


@pytest.fixture(scope="module")
def generic_scores():
    return final_emotions(scripted_policy("generic"), LEVELS, SCENARIOS).mean(axis=1)


@pytest.mark.parametrize("kind", sorted(ATTACKS))
def test_no_trick_scores_above_plain_comfort(kind, generic_scores):
    assert len(ATTACKS[kind]) >= 5
    for i, attack in enumerate(ATTACKS[kind]):
        scores = final_emotions(attack, LEVELS, SCENARIOS).mean(axis=1)
        assert np.all(scores <= generic_scores + 1e-9), (kind, i, scores.round(1), generic_scores.round(1))


ONE_REPLY_FOR_EVERYONE = [
    "You were not wrong to feel that way, and I can feel how much this hurts you.",
    "I hear how painful this is, and honestly you handled it with real courage.",
    "Tell me more about it. Maybe next time you could plan what to say first.",
    "That sounds so hard. What do you think made it hit you so hard?",
    "Your feelings make sense, and both of you probably wanted something fair.",
    phrase_bank().strategies["validate"].replies[1],
    phrase_bank().strategies["advise"].replies[0],
]


@pytest.mark.parametrize("reply", ONE_REPLY_FOR_EVERYONE)
def test_one_reply_for_everyone_passes_only_the_users_it_fits(reply):
    label = judge_reply(reply).label
    for d in (0.0, *LEVELS):
        finals = final_emotions(fixed(reply), [d], SCENARIOS)[0]
        for scenario, final in zip(SCENARIOS, finals, strict=True):
            if final >= PASS_THRESHOLD:
                assert scenario.intent == label, (reply, label, scenario.id, d)


def test_every_need_is_served_by_some_fixed_reply_yet_none_serves_two():
    labels = {judge_reply(r).label for s in phrase_bank().strategies.values() for r in s.replies}
    assert labels == set(STRATEGY_NAMES)
