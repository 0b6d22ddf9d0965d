"""The rollout workers as one pool: a step's groups sharded over them, weights pushed to them, and
a worker that dies mid-step (killed, out of memory) brought back instead of ending the run.

Ray restarts a dead worker actor (`max_restarts`) by running its constructor again, which loads
the run's starting weights. The pool then pushes it the weights it last synced (the version the
step samples from, even when the learner has updated since, as in the pipelined loop) and re-runs
only the dead worker's groups; the other workers' finished groups are kept. Each re-run group keeps its request
seeds, so the step is the one it would have been.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.cluster.learner_group import LearnerGroup, PendingCall
from workers.env.users.simulator_usage import SimulatorUsage
from workers.types import Episode, EpisodeRequest


class WorkersLost(RuntimeError):
    """A rollout worker died and could not be brought back (its restarts are used up)."""


class VersionMismatch(RuntimeError):
    """A worker reports weights of another version than the driver counted: an update was lost
    or applied twice, and rollouts would sample from a policy nobody asked for."""


RESTART_TIMEOUT_S = 300.0
"""How long a restarting worker may take to come back (a large policy loads for minutes)."""


@dataclass(frozen=True)
class PendingRollout:
    """A rollout under way: the weights version it samples from and each worker's share."""

    version: int
    shards: dict[int, list[EpisodeRequest]]
    refs: dict[int, object]


@dataclass
class RolloutCost:
    """What a rollout took: the slowest worker's generation and simulation time, and every
    worker's simulator requests together."""

    generate_s: float = 0.0
    simulate_s: float = 0.0
    simulator_usage: SimulatorUsage = field(default_factory=SimulatorUsage)


@dataclass
class RolloutPool:
    workers: list
    learner: LearnerGroup
    max_restarts: int
    version: int = 0
    restarts: int = 0
    weight_dtype: str = "float32"
    """The rollout dtype: the learner casts its weights to it before they cross to the workers."""
    log: Callable[[str], None] = print
    weights: object = None
    """The object-store reference of the weights last synced (None: the run's starting weights,
    which a restarted worker loads by itself)."""
    sync_bytes: int = 0
    """Size of the last sync's tensors (the adapter alone under LoRA): `perf/sync_bytes`."""
    snapshot_s: float = 0.0
    """How long the last sync waited for the learner's weight snapshot."""
    requested: tuple[object, PendingCall] | None = None
    """A snapshot asked for ahead of its sync (`request_weights`)."""

    def rollout(self, requests: list[EpisodeRequest], kill_worker: int | None = None) -> tuple[list[Episode], RolloutCost]:
        return self.collect(self.submit(requests, kill_worker))

    def submit(self, requests: list[EpisodeRequest], kill_worker: int | None = None) -> PendingRollout:
        """Start a rollout on the workers' current weights and return at once. Whole groups go to
        one worker (round-robin); workers run in parallel, so a phase costs the slowest worker's
        time. `kill_worker` is the fault-injection switch of the tests and bench/faults.py: that
        worker is killed (as by the OOM killer) once its work is under way."""
        import ray

        n = len(self.workers)
        shards = {i: shard for i in range(n) if (shard := [r for r in requests if r.group % n == i])}
        refs = {i: self.workers[i].rollout.remote(shard, self.version) for i, shard in shards.items()}
        if kill_worker is not None:
            ray.kill(self.workers[kill_worker], no_restart=False)
        return PendingRollout(self.version, shards, refs)

    def collect(self, pending: PendingRollout) -> tuple[list[Episode], RolloutCost]:
        """Wait for a submitted rollout; a dead worker's groups are re-run on the weights they
        were submitted with."""
        if pending.version != self.version:
            raise VersionMismatch(f"a rollout submitted on v{pending.version} is collected after a sync to v{self.version}")
        results = [
            self._collect(i, ref, lambda i=i: self.workers[i].rollout.remote(pending.shards[i], self.version))
            for i, ref in pending.refs.items()
        ]
        cost = RolloutCost(
            max(r.generate_s for r in results),
            max(r.simulate_s for r in results),
            SimulatorUsage.total(r.simulator_usage for r in results),
        )
        return sorted((e for r in results for e in r.episodes), key=lambda e: e.group), cost

    def request_weights(self) -> None:
        """Ask the learner for its snapshot now, queued behind the update it is running: taken as
        soon as the update ends, while the driver and the rollout go on, instead of when the sync
        starts. The next `sync` loads it."""
        self.requested = self.learner.request_weights(self.weight_dtype)

    def sync(self, version: int) -> None:
        """Every worker to the learner's weights, which must be `version`: the learner tags its
        weights with its own count and each worker reports what it loaded. The pool keeps them,
        so a worker that dies later is brought back to exactly this version."""
        tick = time.perf_counter()
        snapshot, sizes = self.requested or self.learner.request_weights(self.weight_dtype)
        self.requested = None
        self.weights, self.sync_bytes = snapshot, self.learner.result(sizes)
        self.snapshot_s = time.perf_counter() - tick
        refs = [w.update_weights.remote(self.weights) for w in self.workers]
        self.version = version
        for i, ref in enumerate(refs):
            self._check_version(i, self._collect(i, ref, again=None))

    def _check_version(self, i: int, held: int | None) -> None:
        if held is not None and held != self.version:
            raise VersionMismatch(
                f"rollout worker {i} loaded the learner's weights v{held} but the driver counted v{self.version}"
            )

    def _collect(self, i: int, ref, again: Callable[[], object] | None):
        """The result of `ref` from worker i. If the worker died, wait for Ray to bring it back,
        give it the current weights, then ask `again` (None: the re-sync was what was asked)."""
        import ray
        from ray.exceptions import RayActorError

        while True:
            try:
                return ray.get(ref)
            except RayActorError as exc:
                self._bring_back(i, exc)
                if again is None:
                    return None
                ref = again()

    def _bring_back(self, i: int, cause: Exception) -> None:
        """Ray answers ActorUnavailableError while it restarts a worker (its vLLM engine takes
        seconds to load) and ActorDiedError once it has given up (`max_restarts` used)."""
        import ray
        from ray.exceptions import ActorDiedError, ActorUnavailableError
        from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

        self.log(f"rollout worker {i} died ({type(cause).__name__}); waiting for Ray to restart it")
        retrying = Retrying(
            retry=retry_if_exception_type(ActorUnavailableError),
            wait=wait_fixed(1.0),
            stop=stop_after_delay(RESTART_TIMEOUT_S),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if self.weights is None:
                        ray.get(self.workers[i].__ray_ready__.remote())
                    else:
                        self._check_version(i, ray.get(self.workers[i].update_weights.remote(self.weights)))
        except ActorDiedError:
            raise WorkersLost(
                f"rollout worker {i} died and Ray will not restart it: faults.max_rollout_restarts="
                f"{self.max_restarts} restarts per worker are used up"
            ) from None
        except ActorUnavailableError:
            raise WorkersLost(f"rollout worker {i} died and was not back within {RESTART_TIMEOUT_S:g} s") from None
        self.restarts += 1
        self.log(f"rollout worker {i} restarted with weights v{self.version}; re-running its groups")
