"""A run on Ray: the actors started in the run's placement group, then `Trainer.step` for each
step (orchestrator/trainer.py holds the step itself), then the run's curves and timings.

The driver owns no model: the rollout workers and the learner are Ray actors; only plain
dataclasses cross to them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestrator.checkpoints import FINISHED
from orchestrator.cluster.placement import reserve
from orchestrator.cluster.ray_session import ray_session
from orchestrator.cluster.rollout_pool import RolloutPool
from orchestrator.cluster.run_actors import start_actors
from orchestrator.cluster.simulator_fleet import launch_simulator_servers
from orchestrator.config import ExperimentConfig
from orchestrator.curriculum.controllers import make_controller
from orchestrator.fault_injection import NO_FAULTS, FaultPlan
from orchestrator.model_sources import check_model_sources
from orchestrator.run_start import open_run
from orchestrator.run_storage import check_reachable
from orchestrator.step_timing import StepTiming
from orchestrator.tracking.mlflow_tracker import Tracker
from orchestrator.tracking.run_report import CURVE_KEYS, plot_runs
from orchestrator.trainer import StepFailed, Trainer
from orchestrator.weight_sync import WeightSync
from workers import storage

__all__ = ["RunStopped", "RunSummary", "StepFailed", "train"]


class RunStopped(Exception):
    """Raised by an `on_step` callback to end a run early on purpose (a pruned sweep trial): the
    MLflow run, which holds every finished step already, ends KILLED."""


@dataclass
class RunSummary:
    run_id: str
    run_dir: Path
    """The driver's directory for the run."""
    location: str
    """Where the run is stored (its checkpoints): `run_dir` unless storage.uri."""
    timings: list[StepTiming]
    last_metrics: dict[str, float]


def train(
    config: ExperimentConfig,
    on_step: Callable[[int, dict[str, float]], None] = lambda step, metrics: None,
    log: Callable[[str], None] = print,
    tracker: Tracker | None = None,
    resume_from: str | Path | None = None,
    faults: FaultPlan = NO_FAULTS,
) -> RunSummary:
    """Run `config` to `trainer.steps`, or continue the run stored at `resume_from` (a location:
    checkpoints.find_run) from its newest checkpoint. Each step's metrics reach MLflow as it ends; a run resumed after a crash
    re-does the steps after its checkpoint and logs none of them twice. `faults`: what a test
    injects (fault_injection.py)."""
    import ray

    check_model_sources(config)
    run = open_run(config, tracker, None if resume_from is None else str(resume_from), log)
    tracker, run_dir = run.tracker, run.run_dir
    controller = make_controller(config, **run.study)
    if run.step:
        redone = controller.resume_at(run.step)
        log(
            f"controller: study {run.study['study_name']} continues with {controller.completed_steps()} steps on record"
            f" ({redone} to redo)"
        )
    tracker.set_tags({f"curriculum.{k}": v for k, v in run.study.items()})
    status = "FAILED"
    timings: list[StepTiming] = []
    last_metrics: dict[str, float] = {}
    try:
        with ray_session(config), reserve(config, log) as placement:
            check_reachable(config, run.location, placement.named_strategies())
            fleet = launch_simulator_servers(config, placement, log)
            if fleet is not None:
                fleet.restarts = int(run.faults.get("simulator_restarts", 0))
            log("starting rollout workers and learner on Ray")
            served = fleet.served() if fleet is not None else ()
            workers, learner = start_actors(config, run.policy, run.initial_policy, placement, served, run.precision)
            if fleet is not None:
                fleet.wait_ready()
            dtype = ray.get(workers[0].rollout_dtype.remote())
            log(f"rollout dtype {dtype.dtype}: {dtype.reason}")
            tracker.set_tags({"rollout.dtype": dtype.dtype, "rollout.dtype_reason": dtype.reason})
            if sharing_off := learner.call("sharing_note"):
                log(f"algo.shared_prefix off for this model: {sharing_off}")
                tracker.set_tags({"learner.shared_prefix_off": sharing_off})
            pool = RolloutPool(
                workers, config.faults.max_rollout_restarts, restarts=int(run.faults.get("rollout_restarts", 0)), log=log
            )
            weights = WeightSync(learner, pool, dtype.dtype)
            if run.step:
                # The workers loaded the checkpoint's weights as v0; tag them with the learner's count.
                weights.version = learner.restore(run.policy)
                weights.push()
            fresh = resume_from is None
            pool, learner = faults.install(pool, learner, fleet, run.step, fresh)
            trainer = Trainer(config, run, controller, pool, learner, weights, fleet, log)
            on_step = faults.around_steps(on_step, fresh)
            ahead = None
            for t in range(run.step, config.trainer.steps):
                outcome = trainer.step(t, ahead)
                timings.append(outcome.timing)
                last_metrics, ahead = outcome.metrics, outcome.ahead
                on_step(t, last_metrics)
        history = {key: tracker.metric_history(key) for key in CURVE_KEYS}
        plot = plot_runs({tracker.run_id: history}, run_dir / "curves.png", f"goldilocks run {tracker.run_id}")
        tracker.log_file(plot, "plots")
        storage.write_text(storage.join(run.location, "timings.json"), json.dumps([asdict(t) for t in timings], indent=1))
        if run.location != str(run_dir):
            storage.write_bytes(storage.join(run.location, plot.name), plot.read_bytes())
        storage.write_text(storage.join(run.location, FINISHED), "")
        status = "FINISHED"
    except (KeyboardInterrupt, RunStopped):
        status = "KILLED"
        raise
    finally:
        tracker.finish(status)
    return RunSummary(tracker.run_id, run_dir, run.location, timings, last_metrics)
