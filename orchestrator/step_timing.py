"""Where a step's time goes: the driver's phases, timed by named blocks (`PhaseClock`), and what
the actors report of the work inside them (`PARTS`), so `bench/step.py` can split a step down to
the learner's forward and backward and the Ray calls around them."""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.phase_clock import PhaseClock

PHASES = ("generate", "simulate", "score", "learn", "sync", "eval", "log")
"""The step's phases as the driver sees them (`perf/<phase>_s`): generate and simulate are the
slowest rollout worker's own time, the others the driver's wall time."""

PARTS = (
    "rollout_wait",
    "learner_forward",
    "learner_backward",
    "learner_optimizer",
    "learner_update",
    "sync_snapshot",
)
"""What the phases hold: `rollout_wait` the driver's wait for the rollout (in the synchronous loop
its whole wall time, Ray calls and the workers' tokenising included; pipelined, only the part not
hidden behind the update); the learner's own `update` and its forward, backward and optimizer
blocks (the `learn` phase less `learner_update` is Ray's call and the batch's transfer); and the
learner's weight snapshot within `sync` (the rest of it is the workers' loading)."""


@dataclass
class StepTiming(PhaseClock):
    step_s: float = 0.0
    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    parts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))

    @property
    def overhead_s(self) -> float:
        """The step's time outside its named phases (the driver's own bookkeeping)."""
        return self.step_s - sum(self.phases.values())
