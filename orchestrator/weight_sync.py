"""The one owner of the policy's weights version, on the driver: it counts the learner's updates,
asks the learner for snapshots and has the rollout pool load them.

The actors keep their own versions (the learner's count, each engine's), and each reports what it
holds, for `RolloutPool` to check against this count: a lost or doubled update stops the run
instead of sampling from a policy nobody asked for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from orchestrator.cluster.learner_group import LearnerGroup, PendingCall
from orchestrator.cluster.rollout_pool import RolloutPool


@dataclass
class WeightSync:
    learner: LearnerGroup
    pool: RolloutPool
    dtype: str = "float32"
    """The rollout dtype: the learner casts its weights to it before they cross to the workers."""
    version: int = 0
    """The learner's weights: its finished updates (a resumed run starts at its checkpoint's)."""
    sync_bytes: int = 0
    """Size of the last sync's tensors (the adapter alone under LoRA): `perf/sync_bytes`."""
    snapshot_s: float = 0.0
    """How long the last sync waited for the learner's weight snapshot."""
    requested: tuple[object, PendingCall] | None = None
    """A snapshot asked for ahead of its sync (`request`)."""

    @property
    def behind(self) -> bool:
        """The rollout workers hold older weights than the learner's."""
        return self.pool.loaded_version < self.version

    def updated(self) -> None:
        """The learner finished an update: its weights are the next version."""
        self.version += 1

    def request(self) -> None:
        """Ask the learner for its snapshot now, queued behind the update it is running: taken as
        soon as the update ends, while the driver and the rollout go on, instead of when the sync
        starts. The next `push` loads it."""
        self.requested = self.learner.request_weights(self.dtype)

    def push(self) -> None:
        """The rollout workers to the learner's weights, which must be `version`: the learner tags
        its snapshot with its own count and each worker reports what it loaded."""
        tick = time.perf_counter()
        snapshot, sizes = self.requested or self.learner.request_weights(self.dtype)
        self.requested = None
        self.sync_bytes = self.learner.result(sizes)
        self.snapshot_s = time.perf_counter() - tick
        self.pool.load(snapshot, self.version)
