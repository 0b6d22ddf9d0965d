"""The user-simulator interface and its registry (simulators are chosen by name in config)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from workers.env.scenarios.scenario import Scenario
from workers.env.users.emotion_track import UserTurn
from workers.env.users.llm_simulator import ChatEndpoint, LlmSimulator
from workers.env.users.rlver_user import START_EMOTION, RlverUser
from workers.env.users.rule_simulator import RuleSimulator


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


SIMULATORS = ("rule", "llm")


def make_simulator(
    name: str, *, max_turns: int, pass_threshold: float, seed: int, endpoint: ChatEndpoint | None = None
) -> UserSimulator:
    if name == "rule":
        return RuleSimulator(max_turns=max_turns, pass_threshold=pass_threshold, seed=seed)
    if name == "llm":
        if endpoint is None:
            raise ValueError("the llm simulator needs an endpoint (simulator.endpoint and simulator.model)")
        s = endpoint.settings
        if s.profile == "rlver":
            start = START_EMOTION if s.start_emotion is None else s.start_emotion
            return RlverUser(
                endpoint,
                max_turns=max_turns,
                seed=seed,
                start_emotion=start,
                analysis_retries=s.analysis_retries,
            )
        return LlmSimulator(endpoint, max_turns=max_turns, pass_threshold=pass_threshold, seed=seed)
    raise ValueError(f"simulator.name: unknown simulator {name!r}; choose one of {SIMULATORS}")
