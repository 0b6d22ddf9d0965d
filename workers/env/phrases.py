"""Typed access to the shipped English phrase bank (`data/phrases_en.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class StrategyPhrases:
    name: str
    intent: str
    markers: tuple[str, ...]
    explicit: dict[str, tuple[str, ...]]
    """Cue sentences that state the need, by split (`train`, `test`)."""
    vague: dict[str, tuple[str, ...]]
    """Cue sentences that only hint at it, by split."""
    replies: tuple[str, ...]

    @property
    def all_cues(self) -> tuple[str, ...]:
        """Every cue sentence of this need, in every split."""
        return tuple(c for cues in (self.explicit, self.vague) for split in cues.values() for c in split)


@dataclass(frozen=True)
class PhraseBank:
    strategies: dict[str, StrategyPhrases]
    generic_markers: tuple[str, ...]
    generic_replies: tuple[str, ...]
    ask_markers: tuple[str, ...]
    ask_replies: tuple[str, ...]
    """Open, caring questions about what would help: how an agent learns a need nobody stated."""
    feelings: dict[str, tuple[str, ...]]
    situations: tuple[tuple[str, str], ...]
    test_topics: frozenset[str]
    others: tuple[str, ...]
    names: tuple[str, ...]
    reactions: dict[str, tuple[str, ...]]
    system_prompt: str


@cache
def phrase_bank() -> PhraseBank:
    raw = yaml.safe_load(resources.files("workers.env").joinpath("data/phrases_en.yaml").read_text())
    strategies = {
        name: StrategyPhrases(
            name=name,
            intent=s["intent"],
            markers=tuple(s["markers"]),
            explicit={split: tuple(cues) for split, cues in s["explicit"].items()},
            vague={split: tuple(cues) for split, cues in s["vague"].items()},
            replies=tuple(s["replies"]),
        )
        for name, s in raw["strategies"].items()
    }
    return PhraseBank(
        strategies=strategies,
        generic_markers=tuple(raw["generic"]["markers"]),
        generic_replies=tuple(raw["generic"]["replies"]),
        ask_markers=tuple(raw["ask"]["markers"]),
        ask_replies=tuple(raw["ask"]["replies"]),
        feelings={k: tuple(v["feeling"]) for k, v in raw["personalities"].items()},
        situations=tuple((s["topic"], s["text"]) for s in raw["situations"]),
        test_topics=frozenset(raw["test_topics"]),
        others=tuple(raw["others"]),
        names=tuple(raw["names"]),
        reactions={k: tuple(v) for k, v in raw["reactions"].items()},
        system_prompt=raw["system_prompt"],
    )


STRATEGY_NAMES: tuple[str, ...] = (
    "validate",
    "reflect",
    "dialectic",
    "empathise",
    "listen",
    "explain",
    "advise",
    "praise",
)
PERSONALITIES: tuple[str, ...] = ("negative", "passive", "avoidant")


def detect_intent(user_messages: list[str]) -> str | None:
    """The need whose cue sentence appears last in the user's messages, if any: what a reader of
    the cues knows so far (the `rule` user's own test of whether its need has come out)."""
    return next((need for message in reversed(user_messages) if (need := _cued_need(message))), None)


@lru_cache(maxsize=65536)
def _cued_need(message: str) -> str | None:
    """The need a message cues (the bank's last, should it hold cues of two). Cached: a rule
    user's messages come from the bank's templates, and every turn of a dialogue reads them all."""
    bank = phrase_bank()
    return next((name for name, s in reversed(bank.strategies.items()) if any(cue in message for cue in s.all_cues)), None)
