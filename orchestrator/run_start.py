"""Where a run begins: a new run's MLflow run, directory and controller study, or an old run's
newest checkpoint with the counts and curves it carries."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.checkpoints import ResumeError, checkpoints, load_state, save_config
from orchestrator.config import ExperimentConfig
from orchestrator.curriculum.controllers import default_storage
from orchestrator.model_sources import resolve_model
from orchestrator.tracking.mlflow_tracker import MlflowTracker, Tracker
from orchestrator.tracking.step_log import StepLog, step_ranges


@dataclass
class RunStart:
    """Where a run begins: step 0 of a new run, or the newest checkpoint of an old one."""

    tracker: Tracker
    run_dir: Path
    study: dict[str, str]
    step: int
    rng: random.Random
    policy: str
    """Model directory the actors load: the initial policy, or the checkpoint."""
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


def open_run(config: ExperimentConfig, tracker: Tracker | None, resume_from: Path | None, log: Callable[[str], None]) -> RunStart:
    if resume_from is None:
        initial = resolve_model(config.policy.model, config.seed, log)
        tracker = tracker or MlflowTracker(config)
        run_dir = Path(config.workdir) / tracker.run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir)
        storage = config.curriculum.storage or default_storage(str(run_dir.resolve()))
        study = {"study_name": tracker.run_id, "storage": storage}
        return RunStart(tracker, run_dir, study, 0, random.Random(config.seed), initial, initial, {}, {}, {}, StepLog(tracker))
    found = checkpoints(resume_from)
    if not found:
        raise ResumeError(f"{resume_from} has no complete checkpoint to resume from")
    state = load_state(found[-1])
    tracker = tracker or MlflowTracker(config, resume_run_id=resume_from.name)
    log(f"resuming run {tracker.run_id} after step {state.step} from {found[-1]}")
    step_log = StepLog.resuming(tracker, state.step)
    if step_log.redone:
        log(f"steps {step_ranges(sorted(step_log.redone))} are redone; MLflow keeps the points logged before the resume")
    study = {"study_name": state.study_name, "storage": state.storage}
    entropies = {int(step): value for step, value in state.entropies.items()}
    policy, rng = str(found[-1]), state.restore_rng()
    return RunStart(
        tracker,
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
