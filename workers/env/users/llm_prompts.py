"""The `llm` simulator's prompt texts (files under `prompts/<language>/`) and how d selects them.

Difficulty d in [0, 1] picks a prompt level: simple at d = 0, normal at 0.5, hard at 1, the
nearest level in between. Under the `goldilocks` profile the exact strictness (d x 100) is written
into the level line so two nearby difficulties still read differently, and whether the user may
reveal the hidden need follows the `rule` simulator's cue knobs, so both simulators mean the same
by d. Under the `rlver` profile the level is all d changes (`rlver_*.txt`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from workers.env.phrases import phrase_bank
from workers.env.scenarios.rlver_scenarios import RLVER_INTENTS
from workers.env.scenarios.scenario import Scenario
from workers.env.users.difficulty import RuleKnobs

LANGUAGES = ("en", "zh")
LEVEL_NAMES = ("simple", "normal", "hard")
MOODS = ("S", "A", "B", "C", "F")
"""RLVER's emotion buckets, best first (thresholds in `rlver_user.MOOD_FLOORS`)."""


@dataclass(frozen=True)
class RlverPrompts:
    analyse: str
    reply: str
    opening: str
    moods: tuple[str, str, str, str, str]
    """How the user feels in each of `MOODS`; S and F also ask for a goodbye."""


@dataclass(frozen=True)
class PromptSet:
    analyse: str
    reply: str
    opening: str
    levels: tuple[str, str, str]
    disclosure: tuple[str, str, str]
    """Say the need outright / hint at it / never reveal it."""
    goodbye: str
    leave: str
    rlver: RlverPrompts


def _lines(text: str, n: int, name: str) -> tuple[str, ...]:
    lines = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(lines) != n:
        raise ValueError(f"prompt file {name} must hold {n} non-empty lines, found {len(lines)}")
    return lines


@cache
def prompt_set(language: str) -> PromptSet:
    if language not in LANGUAGES:
        raise ValueError(f"no simulator prompts for language {language!r}; choose one of {LANGUAGES}")
    folder = resources.files("workers.env").joinpath("prompts", language)

    def read(name: str) -> str:
        return folder.joinpath(name).read_text(encoding="utf-8")

    goodbye, leave = _lines(read("endings.txt"), 2, f"{language}/endings.txt")
    return PromptSet(
        analyse=read("analyse.txt"),
        reply=read("reply.txt"),
        opening=read("opening.txt").strip(),
        levels=_lines(read("levels.txt"), 3, f"{language}/levels.txt"),  # type: ignore[arg-type]
        disclosure=_lines(read("disclosure.txt"), 3, f"{language}/disclosure.txt"),  # type: ignore[arg-type]
        goodbye=goodbye,
        leave=leave,
        rlver=RlverPrompts(
            analyse=read("rlver_analyse.txt"),
            reply=read("rlver_reply.txt"),
            opening=read("rlver_opening.txt").strip(),
            moods=_lines(read("rlver_moods.txt"), len(MOODS), f"{language}/rlver_moods.txt"),  # type: ignore[arg-type]
        ),
    )


def level_index(difficulty: float) -> int:
    """0 simple, 1 normal, 2 hard: the level nearest to d on the 0 / 0.5 / 1 grid."""
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must lie in [0, 1], got {difficulty}")
    return min(2, int(difficulty * 2 + 0.5))


def level_text(prompts: PromptSet, difficulty: float, strictness: bool = True) -> str:
    """The level's line, with d itself as a strictness (`goldilocks`) or without (`rlver`)."""
    line = prompts.levels[level_index(difficulty)]
    return f"{line} (strictness {round(difficulty * 100)}/100)" if strictness else line


def disclosure_text(prompts: PromptSet, knobs: RuleKnobs) -> str:
    if knobs.explicit_cue:
        return prompts.disclosure[0]
    if knobs.vague_cue:
        return prompts.disclosure[1]
    return prompts.disclosure[2]


def intent_text(scenario: Scenario, language: str) -> str:
    """The hidden need in the prompt's language (RLVER's own wording for Chinese)."""
    if language == "zh":
        return next(text for text, name in RLVER_INTENTS.items() if name == scenario.intent)
    return phrase_bank().strategies[scenario.intent].intent
