"""Where a run's actors go: one Ray placement group with a bundle per rollout worker, one per
learner rank and one per simulator server, sized by `resources.*` and `simulator.serve.*`.

One group for the whole run, reserved before any actor starts, means a run either gets all it
needs or waits (an autoscaling cluster may add nodes meanwhile) - never half its workers up and
the rest pending while the started ones hold GPUs. A request that cannot fit the cluster at all
fails at once, naming the config keys behind it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from orchestrator.config import ExperimentConfig

POLL_S = 5.0


class PlacementError(RuntimeError):
    """The cluster cannot host the run's actors; the message names the `resources.*` keys."""


@dataclass(frozen=True)
class Placement:
    """The reserved group and which bundle each actor takes."""

    group: object
    rollout_bundles: tuple[int, ...]
    learner_bundles: tuple[int, ...]
    simulator_bundles: tuple[int, ...] = ()

    def strategy(self, bundle: int):
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        return PlacementGroupSchedulingStrategy(self.group, placement_group_bundle_index=bundle)

    def named_strategies(self) -> dict[str, object]:
        """Each bundle's scheduling strategy, by the actor that takes it (for errors that name it)."""
        named = {f"rollout worker {i}": b for i, b in enumerate(self.rollout_bundles)}
        named |= {f"learner rank {i}": b for i, b in enumerate(self.learner_bundles)}
        named |= {f"simulator server {i}": b for i, b in enumerate(self.simulator_bundles)}
        return {who: self.strategy(bundle) for who, bundle in named.items()}


def _bundle(num_cpus: float, num_gpus: float, custom: dict[str, float] | None = None) -> dict[str, float]:
    return ({"CPU": num_cpus, "GPU": num_gpus} if num_gpus else {"CPU": num_cpus}) | (custom or {})


def bundles(config: ExperimentConfig) -> list[dict[str, float]]:
    """Rollout workers first (bundle i for worker i), then the learner's ranks, then the
    simulator servers (none unless simulator.serve)."""
    r, learner, serve = config.resources.rollout, config.resources.learner, config.simulator.serve
    rollout = [_bundle(r.num_cpus, r.num_gpus, r.custom)] * config.rollout.num_workers
    ranks = [_bundle(learner.num_cpus, learner.num_gpus, learner.custom)] * learner.num_workers
    return rollout + ranks + [_bundle(serve.num_cpus, serve.num_gpus)] * serve.num_workers


def shortfall(needed: list[dict[str, float]], strategy: str, nodes: list[dict[str, float]]) -> str | None:
    """Why `needed` can never fit on nodes with these total resources, or None if it might: the
    cluster's totals must cover the sum, and with a STRICT_PACK group one node must hold it all."""
    total = _total(needed)
    if strategy == "STRICT_PACK":
        if not any(all(node.get(k, 0.0) >= v for k, v in total.items()) for node in nodes):
            return f"STRICT_PACK needs one node with {_fmt(total)}; the largest nodes have {_fmt_nodes(nodes)}"
        return None
    have = {k: sum(node.get(k, 0.0) for node in nodes) for k in total}
    short = {k: v for k, v in total.items() if have[k] < v}
    if short:
        return f"the run needs {_fmt(total)} in all; the cluster has {_fmt(have)}"
    biggest = max(needed, key=lambda b: b.get("GPU", 0.0))
    if not any(all(node.get(k, 0.0) >= v for k, v in biggest.items()) for node in nodes):
        return f"one actor needs {_fmt(biggest)} on a single node; the nodes have {_fmt_nodes(nodes)}"
    return None


def _total(needed: list[dict[str, float]]) -> dict[str, float]:
    return {k: sum(b.get(k, 0.0) for b in needed) for k in {k for b in needed for k in b}}


def _fmt(resources: dict[str, float]) -> str:
    return ", ".join(f"{v:g} {k}" for k, v in sorted(resources.items()))


def _fmt_nodes(nodes: list[dict[str, float]]) -> str:
    return "; ".join(_fmt({k: v for k, v in n.items() if k in ("CPU", "GPU")}) for n in nodes) or "none"


def _node_totals() -> list[dict[str, float]]:
    import ray

    return [dict(node["Resources"]) for node in ray.nodes() if node.get("Alive")]


def keys(config: ExperimentConfig, short: frozenset[str] = frozenset()) -> str:
    """The config keys behind the run's reservation, for an error that says what to change: of
    the parts that ask for a resource in `short` (the cluster has too little of it), or all."""
    r, learner, serve = config.resources.rollout, config.resources.learner, config.simulator.serve
    parts = [
        ("resources.rollout", "rollout.num_workers", r.num_cpus, r.num_gpus, r.custom, config.rollout.num_workers),
        (
            "resources.learner",
            "resources.learner.num_workers",
            learner.num_cpus,
            learner.num_gpus,
            learner.custom,
            learner.num_workers,
        ),
        ("simulator.serve", "simulator.serve.num_workers", serve.num_cpus, serve.num_gpus, {}, serve.num_workers),
    ]
    named = []
    for section, count_key, cpus, gpus, custom, count in parts:
        asks = {"CPU": cpus, "GPU": gpus}
        fields = [f"num_{k.lower()}s" for k in ("CPU", "GPU") if asks[k] and (not short or k in short)]
        fields += [f"custom.{k}" for k in custom if not short or k in short]
        if count and fields:
            named.append(f"{section}.{' / '.join(fields)} (x {count_key})")
    return ", ".join([*named, "resources.placement"])


def short_of(needed: list[dict[str, float]], nodes: list[dict[str, float]]) -> frozenset[str]:
    """The resources the whole cluster has less of than the run needs."""
    return frozenset(k for k, v in _total(needed).items() if sum(node.get(k, 0.0) for node in nodes) < v)


@contextlib.contextmanager
def reserve(config: ExperimentConfig, log: Callable[[str], None] = print) -> Iterator[Placement]:
    """Reserve the run's placement group for the length of the block, then release it (on a
    shared cluster nothing else would)."""
    from ray.util.placement_group import placement_group, remove_placement_group

    needed = bundles(config)
    strategy = config.resources.placement
    fixed_cluster = config.ray.address is None
    nodes = _node_totals() if fixed_cluster else []
    if fixed_cluster and (reason := shortfall(needed, strategy, nodes)):
        raise PlacementError(f"this run cannot be placed: {reason} (set by {keys(config, short_of(needed, nodes))})")
    group = placement_group(needed, strategy=strategy)
    try:
        deadline = time.monotonic() + config.resources.placement_timeout_s
        while not _ready(group, POLL_S):
            if time.monotonic() > deadline:
                reason = shortfall(needed, strategy, _node_totals()) or "the cluster is busy with other work"
                raise PlacementError(
                    f"no room for this run after {config.resources.placement_timeout_s:g} s "
                    f"(resources.placement_timeout_s): {reason} (set by {keys(config)})"
                )
            log(f"waiting for the cluster to have room for {_fmt(_total(needed))} ({strategy})")
        workers, ranks = config.rollout.num_workers, config.resources.learner.num_workers
        servers = tuple(range(workers + ranks, workers + ranks + config.simulator.serve.num_workers))
        yield Placement(group, tuple(range(workers)), tuple(range(workers, workers + ranks)), servers)
    finally:
        remove_placement_group(group)


def _ready(group, timeout_s: float) -> bool:
    import ray

    ready, _ = ray.wait([group.ready()], timeout=timeout_s)
    return bool(ready)
