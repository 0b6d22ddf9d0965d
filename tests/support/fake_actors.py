"""Stand-ins for the learner and a rollout worker, for tests of the driver's own bookkeeping on a
real Ray cluster (Ray imports actor classes by module, so they live here, not in a test file)."""

from __future__ import annotations

from workers.types import WeightSnapshot


class SkippingLearner:
    """Counts two versions per snapshot, as a learner that applied an update twice would."""

    def __init__(self):
        self.version = 0

    def weights(self, dtype: str) -> tuple[WeightSnapshot, int]:
        self.version += 2
        return WeightSnapshot(self.version, {}), 0


class EchoWorker:
    """Holds whatever version it is sent."""

    def update_weights(self, snapshot: WeightSnapshot) -> int:
        return snapshot.version
