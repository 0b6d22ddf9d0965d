"""Faults a test or a benchmark injects into a run, to show it survives them. They are not part of
the experiment config (no experiment wants its driver killed): a test hands a `FaultPlan` to
`train`, and a CLI run reads one from the `GOLDILOCKS_FAULTS` environment variable
(`kill_driver_at_step=12,kill_rollout_worker_at_step=5`), which is how bench/faults.py and the
end-to-end tests reach a driver in another process.

A plan strikes through wrappers around the rollout pool and the learner (`install`) and around the
per-step callback, so the training step itself holds no fault switch. Each training step submits
exactly one rollout and one update, in step order, so a wrapper knows the step by counting them
(an evaluation's rollout goes through `rollout`, which is not counted).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.cluster.learner_group import LearnerGroup, PendingCall
    from orchestrator.cluster.rollout_pool import PendingRollout, RolloutPool
    from orchestrator.cluster.simulator_fleet import SimulatorFleet
    from workers.types import EpisodeRequest, TrainBatch

ENV = "GOLDILOCKS_FAULTS"
OnStep = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class FaultPlan:
    kill_rollout_worker_at_step: int | None = None
    """Rollout worker 0 is killed during this step's rollouts (Ray restarts it; its groups re-run)."""
    kill_driver_at_step: int | None = None
    """The driver SIGKILLs itself as this step starts (once the step before it is logged), in a
    fresh run only (a resumed run goes past); 1 or later."""
    kill_learner_rank_at_step: int | None = None
    """The last learner rank's process is killed as this step's update starts, in a fresh run only."""
    kill_simulator_at_step: int | None = None
    """Simulator server 0 (simulator.serve) is killed once it has requests of this step in flight
    (Ray restarts it; its requests are retried on the others)."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FaultPlan:
        text = (os.environ if environ is None else environ).get(ENV, "").strip()
        if not text:
            return cls()
        known = {f.name for f in fields(cls)}
        values: dict[str, int] = {}
        for item in text.split(","):
            key, sep, value = item.strip().partition("=")
            if not sep or key not in known or not value.strip().isdigit():
                raise ValueError(f"{ENV}: expected KEY=STEP[,KEY=STEP] with KEY one of {', '.join(sorted(known))}; got {item!r}")
            values[key] = int(value)
        return cls(**values)

    def __post_init__(self) -> None:
        if self.kill_driver_at_step is not None and self.kill_driver_at_step < 1:
            raise ValueError(f"{ENV}: kill_driver_at_step must be 1 or later (the driver dies once the step before is logged)")

    def install(
        self, pool: RolloutPool, learner: LearnerGroup, fleet: SimulatorFleet | None, first_step: int, fresh: bool
    ) -> tuple[RolloutPool, LearnerGroup]:
        """The pool and the learner a run at `first_step` hands its trainer: wrapped where this
        plan strikes them (`fresh`: a new run, not a resume)."""
        if {self.kill_rollout_worker_at_step, self.kill_simulator_at_step} != {None}:
            pool = FaultyPool(pool, self, fleet, first_step)
        if self.kill_learner_rank_at_step is not None and fresh:
            learner = FaultyLearner(learner, self.kill_learner_rank_at_step, first_step)
        return pool, learner

    def around_steps(self, on_step: OnStep, fresh: bool) -> OnStep:
        """`on_step`, after which the driver dies where `kill_driver_at_step` says."""
        if self.kill_driver_at_step is None or not fresh:
            return on_step

        def then_die(step: int, metrics: dict[str, float]) -> None:
            on_step(step, metrics)
            if step + 1 == self.kill_driver_at_step:
                os.kill(os.getpid(), signal.SIGKILL)

        return then_die


class FaultyPool:
    """The pool, with rollout worker 0 killed (as by the OOM killer, Ray restarts it) once the
    struck step's rollout is under way, and simulator server 0 killed once it has that step's
    requests in flight."""

    def __init__(self, pool: RolloutPool, plan: FaultPlan, fleet: SimulatorFleet | None, first_step: int):
        self.inner, self.plan, self.fleet, self.next_step = pool, plan, fleet, first_step

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def submit(self, requests: list[EpisodeRequest]) -> PendingRollout:
        import ray

        step, self.next_step = self.next_step, self.next_step + 1
        pending = self.inner.submit(requests)
        if step == self.plan.kill_rollout_worker_at_step:
            ray.kill(self.inner.workers[0], no_restart=False)
        if step == self.plan.kill_simulator_at_step and self.fleet is not None:
            self.fleet.kill_when_busy(0)
        return pending


class FaultyLearner:
    """The learner group, with its last rank's process killed as the struck step's update starts."""

    def __init__(self, learner: LearnerGroup, at_step: int, first_step: int):
        self.inner, self.at_step, self.next_step = learner, at_step, first_step

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def submit_update(self, batch: TrainBatch) -> PendingCall:
        import ray

        step, self.next_step = self.next_step, self.next_step + 1
        call = self.inner.submit_update(batch)
        if step == self.at_step:
            ray.kill(self.inner.ranks[-1], no_restart=True)
        return call


NO_FAULTS = FaultPlan()
