"""Difficulty controllers: each step `propose` a difficulty, then `observe` how the batch did.

Chosen by `curriculum.controller`. `fixed` and `linear` are the baselines the adaptive band
controller is measured against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.config import ExperimentConfig


@dataclass(frozen=True)
class BatchStats:
    pass_rate: float
    informative_group_frac: float
    reward_mean: float


class DifficultyController(Protocol):
    def propose(self, step: int) -> float: ...

    def observe(self, step: int, difficulty: float, stats: BatchStats) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class FixedController:
    """The same difficulty every step."""

    def __init__(self, difficulty: float):
        self.difficulty = difficulty

    def propose(self, step: int) -> float:
        return self.difficulty

    def observe(self, step: int, difficulty: float, stats: BatchStats) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


class LinearController(FixedController):
    """A fixed ramp from `start` at step 0 to `end` at the last step, blind to the pass rate."""

    def __init__(self, start: float, end: float, steps: int):
        super().__init__(start)
        self.end = end
        self.steps = steps

    def propose(self, step: int) -> float:
        frac = step / max(1, self.steps - 1)
        return self.difficulty + (self.end - self.difficulty) * min(1.0, frac)


def make_controller(config: ExperimentConfig) -> DifficultyController:
    c = config.curriculum
    if c.controller == "fixed":
        return FixedController(c.initial_difficulty)
    if c.controller == "linear":
        return LinearController(c.initial_difficulty, c.final_difficulty, config.trainer.steps)
    raise ValueError(f"curriculum.controller: unknown controller {c.controller!r}")
