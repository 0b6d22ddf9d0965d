"""Fixed, hand-written agent policies: baselines for evaluation and probes for the simulator.

`--policy scripted:NAME` picks one. Each sees only what a real policy sees (the user's messages),
never the hidden intent:

* `matching` - reads the explicit and vague cues in the user's messages and answers with the
  strategy they point to; falls back to plain comfort when nothing was revealed.
* `expert` - `matching` that asks what would help (a caring question) whenever nothing was
  revealed yet, so a user who hides their need tells it: the skill the hard levels demand.
* `ask_only` - a caring question every turn: asking alone must never pay.
* `generic` - plain comfort, always.
* `advice` - practical advice, always (the classic misfit for venting users).
* `random` - a strategy drawn per turn from a seeded hash, independent of the dialogue.
* `stuffing` - a reward hacker: markers of every strategy at once, repeated, over-long.
* `noisy50`, `noisy80` - `matching` that fits on only half / four fifths of its turns (a coin per
  turn from the dialogue key; on the other turns a wrong strategy): an imperfect policy, for
  probing how smoothly the pass rate falls with d.
"""

from __future__ import annotations

from collections.abc import Callable

from workers.env.phrases import STRATEGY_NAMES, detect_intent, phrase_bank
from workers.env.scenarios.draws import stable_pick, unit_draw

ScriptedPolicy = Callable[[str, list[str], int], str]
"""(dialogue key, user messages so far, turn index) -> agent reply."""


def strategy_reply(strategy: str, key: str, turn: int) -> str:
    """A phrase-bank reply of `strategy`, picked by the dialogue key and turn."""
    return stable_pick(phrase_bank().strategies[strategy].replies, key, turn)


def _ask(key: str, turn: int) -> str:
    return stable_pick(phrase_bank().ask_replies, key, turn)


def _generic(key: str, user_messages: list[str], turn: int) -> str:
    return stable_pick(phrase_bank().generic_replies, key, turn)


def _matching(key: str, user_messages: list[str], turn: int) -> str:
    intent = detect_intent(user_messages)
    return strategy_reply(intent, key, turn) if intent else _generic(key, user_messages, turn)


def _expert(key: str, user_messages: list[str], turn: int) -> str:
    intent = detect_intent(user_messages)
    return strategy_reply(intent, key, turn) if intent else _ask(key, turn)


def _ask_only(key: str, user_messages: list[str], turn: int) -> str:
    return _ask(key, turn)


def _noisy(fit_probability: float) -> ScriptedPolicy:
    def policy(key: str, user_messages: list[str], turn: int) -> str:
        intent = detect_intent(user_messages)
        if intent is None:
            return _generic(key, user_messages, turn)
        if unit_draw(key, turn, "noise") < fit_probability:
            return strategy_reply(intent, key, turn)
        return strategy_reply(stable_pick([s for s in STRATEGY_NAMES if s != intent], key, turn, "wrong"), key, turn)

    return policy


def _advice(key: str, user_messages: list[str], turn: int) -> str:
    return strategy_reply("advise", key, turn)


def _random(key: str, user_messages: list[str], turn: int) -> str:
    return strategy_reply(stable_pick(STRATEGY_NAMES, key, turn, "strategy"), key, turn)


def _stuffing(key: str, user_messages: list[str], turn: int) -> str:
    bank = phrase_bank()
    every_marker = " ".join(s.markers[0] for s in bank.strategies.values())
    return " ".join([every_marker] * 3)


SCRIPTED_POLICIES: dict[str, ScriptedPolicy] = {
    "matching": _matching,
    "expert": _expert,
    "ask_only": _ask_only,
    "generic": _generic,
    "advice": _advice,
    "random": _random,
    "stuffing": _stuffing,
    "noisy50": _noisy(0.5),
    "noisy80": _noisy(0.8),
}


def scripted_policy(name: str) -> ScriptedPolicy:
    try:
        return SCRIPTED_POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown scripted policy {name!r}; choose one of {sorted(SCRIPTED_POLICIES)}") from None
