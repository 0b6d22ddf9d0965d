"""The run's simulator servers (simulator.serve) on Ray: started in the run's placement group
beside the rollout workers, checked once a step, and counted when Ray has restarted one.

Ray restarts a server's actor that dies (`simulator.serve.max_restarts`); the rollout workers
retry its requests on the other servers meanwhile and ask it where it listens once it is back
(workers/env/users/chat_routes.py). The fleet sees a restart as a server answering at a new
address, which is what `faults/simulator_restarts` counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.cluster.placement import Placement
from orchestrator.config import ExperimentConfig
from orchestrator.model_sources import resolve_model
from orchestrator.worker_settings import serve_settings
from workers.simulator_server import ServedSimulator, SimulatorServer

CHECK_TIMEOUT_S = 600.0
"""How long the step's check waits for a restarting server (its model loads meanwhile)."""


class SimulatorLost(RuntimeError):
    """A simulator server died and Ray will not restart it (its restarts are used up)."""


@dataclass
class SimulatorFleet:
    actors: list
    urls: list[str] = field(default_factory=list)
    restarts: int = 0
    log: Callable[[str], None] = print

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

    def check(self) -> int:
        """Ask every server where it listens (waiting out a restart in progress); a new address
        is a restart. Returns the restarts so far."""
        import ray
        from ray.exceptions import ActorDiedError, GetTimeoutError

        for i, actor in enumerate(self.actors):
            try:
                url = ray.get(actor.url.remote(), timeout=CHECK_TIMEOUT_S)
            except ActorDiedError:
                raise SimulatorLost(
                    f"simulator {server_name(i)} died and Ray will not restart it: its simulator.serve.max_restarts are used up"
                ) from None
            except GetTimeoutError:
                raise SimulatorLost(f"simulator {server_name(i)} did not answer within {CHECK_TIMEOUT_S:g} s") from None
            if url != self.urls[i]:
                self.restarts += 1
                self.log(f"simulator {server_name(i)} was restarted; now at {url}")
                self.urls[i] = url
        return self.restarts

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


def launch_simulator_servers(config: ExperimentConfig, placement: Placement, log: Callable[[str], None]) -> SimulatorFleet | None:
    """Start the servers in their bundles and return at once (they load while the rollout workers
    and the learner do); None unless simulator.serve."""
    import ray

    serve = config.simulator.serve
    if not serve.enabled:
        return None
    assert config.simulator.model
    settings = serve_settings(config, resolve_model(config.simulator.model, config.seed, log))
    where = f"{serve.num_gpus:g} GPU" if serve.num_gpus else f"{serve.num_cpus:g} CPU"
    log(f"starting {serve.num_workers} simulator server(s) for {config.simulator.model} ({where} each)")
    actors = [
        ray.remote(SimulatorServer)
        .options(
            num_cpus=serve.num_cpus,
            num_gpus=serve.num_gpus,
            scheduling_strategy=placement.strategy(bundle),
            max_restarts=serve.max_restarts,
            max_task_retries=-1,
        )
        .remote(settings, i)
        for i, bundle in enumerate(placement.simulator_bundles)
    ]
    return SimulatorFleet(actors, log=log)
