"""The scenario banks by name: `en` (ours, English) and `rlver` (RLVER's Chinese profiles)."""

from __future__ import annotations

from workers.env.scenarios.english_scenarios import english_split
from workers.env.scenarios.rlver_scenarios import rlver_split
from workers.env.scenarios.scenario import Scenario

SCENARIO_BANKS = ("en", "rlver")


def load_scenarios(bank: str, split: str) -> tuple[Scenario, ...]:
    """`train` or `test` (held out: evaluation only) of the named bank."""
    if bank == "en":
        return english_split(split)
    if bank == "rlver":
        return rlver_split(split)
    raise ValueError(f"unknown scenario bank {bank!r}; choose one of {SCENARIO_BANKS}")
