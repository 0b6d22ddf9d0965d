"""Scenarios: who the simulated user is, what happened to them, and what they secretly need."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from functools import cache

from workers.env.phrases import PERSONALITIES, STRATEGY_NAMES, phrase_bank


@dataclass(frozen=True)
class Scenario:
    id: str
    persona: str
    situation: str
    personality: str
    """negative / passive / avoidant (RLVER's `main_cha`)."""
    intent: str
    """The hidden need, named after the one strategy that serves it."""
    topic: str
    language: str = "en"
    """Language of the user's text; picks the prompt files of the `llm` simulator."""
    traits: tuple[str, ...] = ()


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


@cache
def english_bank() -> tuple[Scenario, ...]:
    """Every intent x personality x situation, with a deterministic persona and counterpart."""
    bank = phrase_bank()
    rng = random.Random(1234)
    scenarios = []
    for (topic, text), intent, personality in itertools.product(bank.situations, STRATEGY_NAMES, PERSONALITIES):
        name = rng.choice(bank.names)
        other = rng.choice(bank.others)
        scenarios.append(
            Scenario(
                id=f"en-{topic}-{intent}-{personality}",
                persona=f"{name}, {rng.randint(19, 64)}, {personality} personality",
                situation=_sentence_case(text.format(other=other)),
                personality=personality,
                intent=intent,
                topic=topic,
            )
        )
    return tuple(scenarios)


SCENARIO_BANKS = ("en", "rlver")


def load_scenarios(bank: str, split: str) -> tuple[Scenario, ...]:
    """The one entry point: `en` (ours, English) or `rlver` (RLVER's Chinese profiles), `train`
    or `test` (held out: evaluation only)."""
    if bank == "en":
        return english_split(split)
    if bank == "rlver":
        from workers.env.rlver_scenarios import rlver_split

        return rlver_split(split)
    raise ValueError(f"unknown scenario bank {bank!r}; choose one of {SCENARIO_BANKS}")


def english_split(split: str) -> tuple[Scenario, ...]:
    """`train` or `test`; test holds whole held-out situations, never seen in training."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"scenario split must be train, test or all, not {split!r}")
    held_out = phrase_bank().test_topics
    return tuple(s for s in english_bank() if split == "all" or (s.topic in held_out) == (split == "test"))
