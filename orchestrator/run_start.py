"""Where a run begins: a new run's MLflow run, directory and controller study, or an old run's
newest checkpoint with the counts and curves it carries."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.checkpoints import ResumeError, checkpoints, load_state, restore_study, save_config
from orchestrator.config import ExperimentConfig
from orchestrator.curriculum.controllers import default_storage
from orchestrator.model_sources import resolve_model
from orchestrator.run_storage import local_run_dir, run_location, shared_model, travelling_study
from orchestrator.tracking.mlflow_tracker import MlflowTracker, Tracker
from orchestrator.tracking.step_log import StepLog, step_ranges
from workers import storage


@dataclass
class RunStart:
    """Where a run begins: step 0 of a new run, or the newest checkpoint of an old one."""

    tracker: Tracker
    run_dir: Path
    """The driver's own directory for the run (workdir/<run id>)."""
    location: str
    """Where the run is stored (orchestrator/run_storage.py): the same directory unless storage.uri."""
    study: dict[str, str]
    step: int
    rng: random.Random
    policy: str
    """Model location the actors load (workers/storage.py fetches it): the initial policy, or the checkpoint."""
    initial_policy: str
    faults: dict[str, float]
    """`faults/*` counts so far (from the checkpoint)."""
    simulator_totals: dict[str, float]
    """`simulator/run_*` totals so far (from the checkpoint)."""
    entropies: dict[int, float]
    """The policy entropy of the steps before the first (from the checkpoint)."""
    step_log: StepLog
    """Where each step's metrics go as it ends (a resumed run's re-done steps: nowhere)."""
    precision: str | None = None
    """The learner's precision the checkpoint recorded (None: a new run's learner decides)."""


def open_run(config: ExperimentConfig, tracker: Tracker | None, resume_from: str | None, log: Callable[[str], None]) -> RunStart:
    """`resume_from`: the location of the run to continue (checkpoints.find_run)."""
    if resume_from is not None and not storage.is_remote(resume_from):
        resume_from = str(Path(resume_from).resolve())  # actors on other nodes, in other directories, read it
    if resume_from is None:
        initial = shared_model(config, resolve_model(config.policy.model, config.seed, log), log)
        tracker = tracker or MlflowTracker(config)
        run_dir, location = local_run_dir(config, tracker.run_id), run_location(config, tracker.run_id)
        save_config(config, location)
        study_storage = config.curriculum.storage or default_storage(str(run_dir))
        study = {"study_name": tracker.run_id, "storage": study_storage}
        rng = random.Random(config.seed)
        return RunStart(tracker, run_dir, location, study, 0, rng, initial, initial, {}, {}, {}, StepLog(tracker))
    found = checkpoints(resume_from)
    if not found:
        raise ResumeError(f"{storage.display(resume_from)} has no complete checkpoint to resume from")
    state = load_state(found[-1])
    run_id = storage.display(resume_from).rstrip("/").rsplit("/", 1)[-1]
    tracker = tracker or MlflowTracker(config, resume_run_id=run_id)
    log(f"resuming run {tracker.run_id} after step {state.step} from {storage.display(found[-1])}")
    run_dir = local_run_dir(config, tracker.run_id)
    study_storage = state.storage
    if (db := travelling_study(config, run_dir)) is not None:
        # A driver on another machine takes the checkpoint's copy.
        if not db.exists():
            restore_study(found[-1], db)
        study_storage = default_storage(str(run_dir))
    step_log = StepLog.resuming(tracker, state.step)
    if step_log.redone:
        log(f"steps {step_ranges(sorted(step_log.redone))} are redone; MLflow keeps the points logged before the resume")
    study = {"study_name": state.study_name, "storage": study_storage}
    entropies = {int(step): value for step, value in state.entropies.items()}
    policy, rng = found[-1], state.restore_rng()
    return RunStart(
        tracker,
        run_dir,
        resume_from,
        study,
        state.step,
        rng,
        policy,
        state.initial_policy,
        state.faults,
        state.simulator_totals,
        entropies,
        step_log,
        state.learner_precision,
    )
