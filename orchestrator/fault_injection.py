"""Faults a test or a benchmark injects into a run, to show it survives them. They are not part of
the experiment config (no experiment wants its driver killed): a test hands a `FaultPlan` to
`train`, and a CLI run reads one from the `GOLDILOCKS_FAULTS` environment variable
(`kill_driver_at_step=12,kill_rollout_worker_at_step=5`), which is how bench/faults.py and the
end-to-end tests reach a driver in another process."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

ENV = "GOLDILOCKS_FAULTS"


@dataclass(frozen=True)
class FaultPlan:
    kill_rollout_worker_at_step: int | None = None
    """Rollout worker 0 is killed during this step's rollouts (Ray restarts it; its groups re-run)."""
    kill_driver_at_step: int | None = None
    """The driver SIGKILLs itself as this step starts, in a fresh run only (a resumed run goes past)."""
    kill_learner_rank_at_step: int | None = None
    """The last learner rank's process exits as this step's update starts, in a fresh run only."""
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


NO_FAULTS = FaultPlan()
