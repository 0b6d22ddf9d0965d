"""Named timers for the blocks of a piece of work (as verl's `marked_timer`): the code reads as its
phases, and every `perf/*_s` figure comes from one place, in the driver and in the actors alike."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class PhaseClock:
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase name."""

    @contextmanager
    def phase(self, name: str, add: bool = False) -> Iterator[None]:
        """Time the block as phase `name`; `add` sums it with the phase's earlier blocks (a sync
        before and after an evaluation, a backward per micro-batch)."""
        tick = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - tick
            self.phases[name] = self.phases.get(name, 0.0) + elapsed if add else elapsed
