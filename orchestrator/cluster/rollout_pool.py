"""The rollout workers as one pool: a step's groups sharded over them, the weights `WeightSync`
hands it loaded into them, and a worker that dies mid-step (killed, out of memory) brought back
instead of ending the run.

Ray restarts a dead worker actor (`max_restarts`) by running its constructor again, which loads
the run's starting weights. The pool then pushes it the weights it last synced (the version the
step samples from, even when the learner has updated since, as under a policy lag) and re-runs
only the dead worker's groups; the other workers' finished groups are kept. Each re-run group keeps its request
seeds, so the step is the one it would have been.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
    max_restarts: int
    restarts: int = 0
    log: Callable[[str], None] = print
    weights: object = None
    """The object-store reference of the weights last loaded (None: the run's starting weights,
    which a restarted worker loads by itself)."""
    loaded_version: int = 0
    """The version of those weights: `WeightSync`'s count when it last loaded them (the pool
    counts nothing itself)."""

    def rollout(self, requests: list[EpisodeRequest]) -> tuple[list[Episode], RolloutCost]:
        return self.collect(self.submit(requests))

    def submit(self, requests: list[EpisodeRequest]) -> PendingRollout:
        """Start a rollout on the workers' current weights and return at once. Whole groups go to
        one worker (round-robin); workers run in parallel, so a phase costs the slowest worker's
        time."""
        n = len(self.workers)
        shards = {i: shard for i in range(n) if (shard := [r for r in requests if r.group % n == i])}
        refs = {i: self.workers[i].rollout.remote(shard, self.loaded_version) for i, shard in shards.items()}
        return PendingRollout(self.loaded_version, shards, refs)

    def collect(self, pending: PendingRollout) -> tuple[list[Episode], RolloutCost]:
        """Wait for a submitted rollout; a dead worker's groups are re-run on the weights they
        were submitted with."""
        if pending.version != self.loaded_version:
            raise VersionMismatch(
                f"a rollout submitted on v{pending.version} is collected after a sync to v{self.loaded_version}"
            )
        results = [
            self._collect(i, ref, lambda i=i: self.workers[i].rollout.remote(pending.shards[i], self.loaded_version))
            for i, ref in pending.refs.items()
        ]
        cost = RolloutCost(
            max(r.generate_s for r in results),
            max(r.simulate_s for r in results),
            SimulatorUsage.total(r.simulator_usage for r in results),
        )
        return sorted((e for r in results for e in r.episodes), key=lambda e: e.group), cost

    def load(self, weights: object, version: int) -> None:
        """Every worker to `weights` (an object-store reference the workers fetch themselves),
        which must be `version`: each worker reports the version it loaded. The pool keeps them,
        so a worker that dies later is brought back to exactly this version."""
        refs = [w.update_weights.remote(weights) for w in self.workers]
        self.weights, self.loaded_version = weights, version
        for i, ref in enumerate(refs):
            self._check_version(i, self._collect(i, ref, again=None))

    def _check_version(self, i: int, held: int | None) -> None:
        if held is not None and held != self.loaded_version:
            raise VersionMismatch(
                f"rollout worker {i} loaded the learner's weights v{held} but the driver counted v{self.loaded_version}"
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
        self.log(f"rollout worker {i} restarted with weights v{self.loaded_version}; re-running its groups")
