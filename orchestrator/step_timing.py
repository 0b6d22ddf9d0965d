"""Where a step's time goes: each phase is timed by a named block (as verl's `marked_timer`), so
the loop reads as its phases and `perf/<phase>_s` comes from one place."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

PHASES = ("generate", "simulate", "learn", "sync", "eval", "log")


@dataclass
class StepTiming:
    step_s: float = 0.0
    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    @property
    def overhead_s(self) -> float:
        """The step's time outside its named phases (Ray calls, batching, scoring)."""
        return self.step_s - sum(self.phases.values())

    @contextmanager
    def phase(self, name: str, add: bool = False) -> Iterator[None]:
        """Time the block as phase `name`; `add` sums it with earlier blocks of the step (a sync
        before and after an evaluation, say)."""
        tick = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - tick
            self.phases[name] = self.phases[name] + elapsed if add else elapsed
