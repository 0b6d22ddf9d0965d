"""Fixed, hand-written agent policies: baselines for evaluation and probes for the simulator.

`--policy scripted:NAME` picks one. Each sees only what a real policy sees (the user's messages),
never the hidden intent:

* `matching` - reads the explicit and vague cues in the user's messages and answers with the
  strategy they point to; falls back to plain comfort when nothing was revealed.
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

from workers.env.draws import stable_pick, unit_draw
from workers.env.phrases import STRATEGY_NAMES, phrase_bank

ScriptedPolicy = Callable[[str, list[str], int], str]
"""(dialogue key, user messages so far, turn index) -> agent reply."""


def detect_intent(user_messages: list[str]) -> str | None:
    """The intent whose cue sentence appears last in the user's messages, if any."""
    bank = phrase_bank()
    latest: tuple[int, str] | None = None
    for position, message in enumerate(user_messages):
        for name, s in bank.strategies.items():
            if any(cue in message for cue in s.all_cues):
                latest = (position, name)
    return latest[1] if latest else None


def _reply(strategy: str, key: str, turn: int) -> str:
    return stable_pick(phrase_bank().strategies[strategy].replies, key, turn)


def _generic(key: str, user_messages: list[str], turn: int) -> str:
    return stable_pick(phrase_bank().generic_replies, key, turn)


def _matching(key: str, user_messages: list[str], turn: int) -> str:
    intent = detect_intent(user_messages)
    return _reply(intent, key, turn) if intent else _generic(key, user_messages, turn)


def _noisy(fit_probability: float) -> ScriptedPolicy:
    def policy(key: str, user_messages: list[str], turn: int) -> str:
        intent = detect_intent(user_messages)
        if intent is None:
            return _generic(key, user_messages, turn)
        if unit_draw(key, turn, "noise") < fit_probability:
            return _reply(intent, key, turn)
        return _reply(stable_pick([s for s in STRATEGY_NAMES if s != intent], key, turn, "wrong"), key, turn)

    return policy


def _advice(key: str, user_messages: list[str], turn: int) -> str:
    return _reply("advise", key, turn)


def _random(key: str, user_messages: list[str], turn: int) -> str:
    return _reply(stable_pick(STRATEGY_NAMES, key, turn, "strategy"), key, turn)


def _stuffing(key: str, user_messages: list[str], turn: int) -> str:
    bank = phrase_bank()
    every_marker = " ".join(s.markers[0] for s in bank.strategies.values())
    return " ".join([every_marker] * 3)


SCRIPTED_POLICIES: dict[str, ScriptedPolicy] = {
    "matching": _matching,
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
