"""The plain dataclasses that cross every actor boundary (never framework objects)."""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.env.scenario import Scenario


@dataclass(frozen=True)
class EpisodeRequest:
    scenario: Scenario
    difficulty: float
    group: int
    """Episodes with the same group index form one GRPO group (same scenario, same d)."""
    seed: int


@dataclass
class Episode:
    scenario_id: str
    intent: str
    group: int
    difficulty: float
    token_ids: list[int]
    policy_mask: list[int]
    """1 on tokens the policy sampled (its replies and their end-of-turn token), else 0."""
    logprobs: list[float]
    """Sampling-time log p of each policy token; 0.0 elsewhere. Same length as token_ids."""
    emotions: list[float]
    """Emotion before the first reply, then after each reply."""
    labels: list[str]
    """How the scorer read each reply."""
    transcript: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False
    """Ended by the context limit rather than by the user."""
    passed: bool = False
    format_violation: bool = False
    """A `think` reply broke the template: the dialogue ended there with emotion (reward) 0."""
    parse_failures: int = 0
    """`llm` simulator analyses that could not be read (each moved emotion by 0)."""

    @property
    def final_emotion(self) -> float:
        return self.emotions[-1]

    @property
    def reward(self) -> float:
        """RLVER's verifiable emotion reward: final emotion / 100."""
        return self.final_emotion / 100.0

    @property
    def turns(self) -> int:
        return len(self.labels)

    @property
    def response_tokens(self) -> int:
        return sum(self.policy_mask)


@dataclass
class RolloutResult:
    episodes: list[Episode]
    generate_s: float
    simulate_s: float


@dataclass
class TrainBatch:
    token_ids: list[list[int]]
    policy_mask: list[list[int]]
    old_logprobs: list[list[float]]
    advantages: list[float]
    """One advantage per sequence, broadcast to its policy tokens."""
