"""The user-simulator interface and its registry (simulators are chosen by name in config)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from workers.env.scenario_bank import Scenario

if TYPE_CHECKING:
    from workers.env.llm_simulator import ChatEndpoint


SATISFIED = 95.0
"""Emotion at which the user says goodbye, content. RLVER ends at 100; relief (difficulty.py)
approaches 100 without reaching it, so content sits just below."""


def fitting_reply_gain(emotion: float, relief: float) -> float:
    """A fitting reply wins back a share of the distress left."""
    return relief * (100.0 - emotion)


class EmotionTrack:
    """One user's emotion over a dialogue and the rules that end it, shared by every simulator so
    that d means the same everywhere: emotion stays in [0, 100]; a reply that does not raise it
    costs patience; the user says `goodbye` once content, and `leave`s when emotion is gone or
    patience runs out while still below the pass threshold (a user who feels fine does not walk
    out; this keeps each fixed policy's pass rate non-increasing in d)."""

    def __init__(self, *, max_turns: int, pass_threshold: float):
        if max_turns < 1:
            raise ValueError("simulator.max_turns must be at least 1")
        self.max_turns = max_turns
        self.pass_threshold = pass_threshold
        self.emotion = 0.0
        self.turn = 0
        self.unhelpful = 0
        self.patience = 1

    def reset(self, start_emotion: float, patience: int) -> None:
        self.emotion, self.patience, self.turn, self.unhelpful = start_emotion, patience, 0, 0

    def next_turn(self) -> None:
        self.turn += 1

    def apply(self, delta: float) -> str | None:
        """Move emotion by `delta`; returns `goodbye` / `leave` when the user ends it now."""
        self.emotion = min(100.0, max(0.0, self.emotion + delta))
        if delta <= 0:
            self.unhelpful += 1
        if self.emotion >= SATISFIED:
            return "goodbye"
        if self.emotion <= 0 or (self.unhelpful >= self.patience and self.emotion < self.pass_threshold):
            return "leave"
        return None

    @property
    def last_turn(self) -> bool:
        return self.turn >= self.max_turns


@dataclass(frozen=True)
class UserTurn:
    message: str
    emotion: float
    """The user's hidden emotion (0-100) after reading the agent's reply."""
    done: bool
    label: str
    """How the reply was read: a strategy, generic, mixed, degenerate or none (`rule`);
    helped, hurt, neutral or unparsed (`llm`)."""
    parse_failed: bool = False
    """The `llm` simulator could not read its own emotion analysis (the change counted as 0)."""


class UserSimulator(Protocol):
    emotion: float

    def start(self, scenario: Scenario, difficulty: float) -> str:
        """Reset to a new dialogue and return the user's opening message."""
        ...

    def step(self, agent_reply: str) -> UserTurn: ...


@runtime_checkable
class AsyncUserSimulator(Protocol):
    """A simulator whose turns wait on I/O: the rollout worker runs all dialogues' turns at once."""

    async def astart(self, scenario: Scenario, difficulty: float) -> str: ...

    async def astep(self, agent_reply: str) -> UserTurn: ...


def start_all(sims: Sequence[UserSimulator], scenarios: Sequence[Scenario], difficulties: Sequence[float]) -> list[str]:
    if sims and all(isinstance(s, AsyncUserSimulator) for s in sims):

        async def gather() -> list[str]:
            return list(await asyncio.gather(*(s.astart(c, d) for s, c, d in zip(sims, scenarios, difficulties, strict=True))))  # type: ignore[union-attr]

        return asyncio.run(gather())
    return [s.start(c, d) for s, c, d in zip(sims, scenarios, difficulties, strict=True)]


def step_all(sims: Sequence[UserSimulator], replies: Sequence[str]) -> list[UserTurn]:
    """One user turn for every live dialogue; concurrent when the simulators are async."""
    if sims and all(isinstance(s, AsyncUserSimulator) for s in sims):

        async def gather() -> list[UserTurn]:
            return list(await asyncio.gather(*(s.astep(r) for s, r in zip(sims, replies, strict=True))))  # type: ignore[union-attr]

        return asyncio.run(gather())
    return [s.step(r) for s, r in zip(sims, replies, strict=True)]


def stable_pick(options: Sequence[str], *key: object) -> str:
    """Choose deterministically from the key alone, so that text choices never depend on
    difficulty or on how many random draws happened before (Python's hash() is salted)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


SIMULATORS = ("rule", "llm")


def make_simulator(
    name: str, *, max_turns: int, pass_threshold: float, seed: int, endpoint: ChatEndpoint | None = None
) -> UserSimulator:
    if name == "rule":
        from workers.env.rule_simulator import RuleSimulator

        return RuleSimulator(max_turns=max_turns, pass_threshold=pass_threshold, seed=seed)
    if name == "llm":
        from workers.env.llm_simulator import LlmSimulator

        if endpoint is None:
            raise ValueError("the llm simulator needs an endpoint (simulator.endpoint and simulator.model)")
        return LlmSimulator(endpoint, max_turns=max_turns, pass_threshold=pass_threshold, seed=seed)
    raise ValueError(f"simulator.name: unknown simulator {name!r}; choose one of {SIMULATORS}")
