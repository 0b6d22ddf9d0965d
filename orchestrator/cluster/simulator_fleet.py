"""The run's simulator servers (simulator.serve) on Ray: started in the run's placement group
beside the rollout workers, checked once a step, and counted when Ray has restarted one.

Ray restarts a server's actor that dies (`simulator.serve.max_restarts`); the rollout workers
retry its requests on the other servers meanwhile and ask it where it listens once it is back
(workers/env/users/chat_routes.py). The fleet sees a restart as a server answering at a new
address, which is what `faults/simulator_restarts` counts.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from orchestrator.cluster.placement import Placement
from orchestrator.config import ExperimentConfig
from orchestrator.model_sources import resolve_model
from orchestrator.run_storage import shared_model
from workers.env.users.chat_routes import ServedSimulator
from workers.simulator_server import SimulatorServer

CHECK_TIMEOUT_S = 600.0
"""How long the last step's check waits for a restarting server (its model loads meanwhile)."""
ANSWER_S = 1.0
"""How long any other step's check waits for a server's answer."""


class SimulatorLost(RuntimeError):
    """A simulator server died and Ray will not restart it (its restarts are used up)."""


@dataclass
class SimulatorFleet:
    actors: list
    urls: list[str] = field(default_factory=list)
    restarts: int = 0
    log: Callable[[str], None] = print
    _asking: dict[int, object] = field(default_factory=dict)
    """A server's unanswered question from an earlier check (it was restarting)."""
    _cache_counts: dict[int, tuple[str, float, float]] = field(default_factory=dict)
    """Each server's address and prefix-cache counters at the last `cache_metrics`."""
    _cache_asking: dict[int, object] = field(default_factory=dict)
    """A server's unanswered `prefix_cache` call from an earlier step (it was restarting)."""

    @property
    def names(self) -> list[str]:
        return [server_name(i) for i in range(len(self.actors))]

    def served(self) -> tuple[ServedSimulator, ...]:
        """What the rollout workers are handed, before the servers are up: each worker asks a
        server its address when it first needs it."""
        return tuple(ServedSimulator(n, None, a) for n, a in zip(self.names, self.actors, strict=True))

    def wait_ready(self) -> None:
        """Block until every server answers (a server that cannot start raises its error here)."""
        import ray

        self.urls = ray.get([a.url.remote() for a in self.actors])
        for name, url in zip(self.names, self.urls, strict=True):
            self.log(f"simulator {name} serving at {url}")

    def check(self, wait: bool = False) -> int:
        """Ask every server where it listens; a new address is a restart. A server still
        restarting is not waited for (its requests go to the others meanwhile): its answer is
        collected at a later check, or here with `wait` (the run's last step, so that its count is
        whole). Two restarts between checks count as one. Returns the restarts so far."""
        import ray
        from ray.exceptions import ActorDiedError

        for i, actor in enumerate(self.actors):
            ref = self._asking.pop(i, None) or actor.url.remote()
            ready, _ = ray.wait([ref], timeout=CHECK_TIMEOUT_S if wait else ANSWER_S)
            if not ready:
                if wait:
                    raise SimulatorLost(f"simulator {server_name(i)} did not answer within {CHECK_TIMEOUT_S:g} s")
                self._asking[i] = ref
                continue
            try:
                url = ray.get(ref)
            except ActorDiedError:
                raise SimulatorLost(
                    f"simulator {server_name(i)} died and Ray will not restart it: its simulator.serve.max_restarts are used up"
                ) from None
            if url != self.urls[i]:
                self.restarts += 1
                self.log(f"simulator {server_name(i)} was restarted; now at {url}")
                self.urls[i] = url
        return self.restarts

    def cache_metrics(self) -> dict[str, float]:
        """Each server's prefix cache since the last call: `simulator/server_<i>/prefill_tokens`
        (prompt tokens it computed, not found in its cache) and `.../prefix_cache_hit_rate`
        (tokens found / looked up). A server that does not answer within ANSWER_S (restarting)
        is left out (its question waits for the next step); one that restarted (a new address)
        counts from its fresh start."""
        import ray
        from ray.exceptions import RayError

        refs = [self._cache_asking.pop(i, None) or actor.prefix_cache.remote() for i, actor in enumerate(self.actors)]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=ANSWER_S)
        metrics = {}
        for i, ref in enumerate(refs):
            if ref not in ready:
                self._cache_asking[i] = ref
                continue
            try:
                address, queries, hits = ray.get(ref)
            except RayError:
                continue
            last_address, last_queries, last_hits = self._cache_counts.get(i, (address, 0.0, 0.0))
            if address != last_address:
                last_queries, last_hits = 0.0, 0.0
            self._cache_counts[i] = (address, queries, hits)
            looked_up, found = queries - last_queries, hits - last_hits
            metrics[f"simulator/{server_name(i)}/prefill_tokens"] = looked_up - found
            if looked_up:
                metrics[f"simulator/{server_name(i)}/prefix_cache_hit_rate"] = found / looked_up
        return metrics

    def kill_when_busy(self, index: int, timeout_s: float = 120.0) -> threading.Thread:
        """Fault injection (FaultPlan.kill_simulator_at_step): kill server `index` as the OOM
        killer would, once it has requests in flight (or after `timeout_s`), from a thread, so
        the step goes on meanwhile. Ray restarts it."""
        import ray

        actor = self.actors[index]

        def kill() -> None:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and ray.get(actor.in_flight.remote()) == 0:
                time.sleep(0.05)
            self.log(f"fault injection: killing simulator {server_name(index)}")
            ray.kill(actor, no_restart=False)

        thread = threading.Thread(target=kill, name="kill-simulator", daemon=True)
        thread.start()
        return thread


def server_name(index: int) -> str:
    return f"server_{index}"


def launch_simulator_servers(
    config: ExperimentConfig, placement: Placement | None, log: Callable[[str], None]
) -> SimulatorFleet | None:
    """Start the servers, each in its bundle of the run's placement group (None: wherever Ray
    finds room), and return at once: they load while the rollout workers and the learner do.
    None unless simulator.serve."""
    import ray

    serve = config.simulator.serve
    if not serve.enabled:
        return None
    assert config.simulator.model
    model = shared_model(config, resolve_model(config.simulator.model, config.seed, log), log)
    settings = config.serve_settings(model)
    where = f"{serve.num_gpus:g} GPU" if serve.num_gpus else f"{serve.num_cpus:g} CPU"
    log(f"starting {serve.num_workers} simulator server(s) for {config.simulator.model} ({where} each)")
    actors = []
    for i in range(serve.num_workers):
        placed = {"scheduling_strategy": placement.strategy(placement.simulator_bundles[i])} if placement else {}
        actor = ray.remote(SimulatorServer).options(
            num_cpus=serve.num_cpus, num_gpus=serve.num_gpus, max_restarts=serve.max_restarts, max_task_retries=-1, **placed
        )
        actors.append(actor.remote(settings, i))
    return SimulatorFleet(actors, log=log)


@contextlib.contextmanager
def serving_simulator(config: ExperimentConfig, log: Callable[[str], None]) -> Iterator[tuple[ServedSimulator, ...]]:
    """The simulator servers alone, for work outside a training run (`goldilocks eval`): on the
    configured Ray cluster, up for the length of the block. Yields () unless simulator.serve."""
    from orchestrator.cluster.ray_session import ray_session

    if not config.simulator.serve.enabled:
        yield ()
        return
    with ray_session(config):
        fleet = launch_simulator_servers(config, None, log)
        assert fleet is not None
        fleet.wait_ready()
        yield fleet.served()
