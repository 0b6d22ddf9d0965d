"""The user-simulator interface and its registry (simulators are chosen by name in config)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from workers.env.scenario_bank import Scenario


@dataclass(frozen=True)
class UserTurn:
    message: str
    emotion: float
    """The user's hidden emotion (0-100) after reading the agent's reply."""
    done: bool
    label: str
    """How the reply was read (a strategy, generic, mixed, degenerate, none)."""


class UserSimulator(Protocol):
    emotion: float

    def start(self, scenario: Scenario, difficulty: float) -> str:
        """Reset to a new dialogue and return the user's opening message."""
        ...

    def step(self, agent_reply: str) -> UserTurn: ...


def stable_pick(options: Sequence[str], *key: object) -> str:
    """Choose deterministically from the key alone, so that text choices never depend on
    difficulty or on how many random draws happened before (Python's hash() is salted)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


SIMULATORS = ("rule",)


def make_simulator(name: str, *, max_turns: int, pass_threshold: float, seed: int) -> UserSimulator:
    if name == "rule":
        from workers.env.rule_simulator import RuleSimulator

        return RuleSimulator(max_turns=max_turns, pass_threshold=pass_threshold, seed=seed)
    raise ValueError(f"simulator.name: unknown simulator {name!r}; choose one of {SIMULATORS}")
