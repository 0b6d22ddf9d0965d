"""One sweep trial: its training run(s), executed as a Ray task next to the other trials.

The task reports the objective at every evaluation of the first seed's run to the trial in the
shared Optuna storage and stops the run when the pruner says so. Each run is an MLflow child run
of the sweep's parent run, tagged with the trial number and the trial's values.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Literal

import optuna

from orchestrator.config import ExperimentConfig, with_overrides
from orchestrator.curriculum.optuna_storage import open_storage
from sweeps.search_space import as_overrides
from sweeps.sweep_config import Objective, SweepConfig

TRIAL_NUMBER_TAG = "sweep.trial_number"
RUN_IDS_ATTR = "mlflow_run_ids"
PARENT_TAG = "mlflow.parentRunId"


@dataclass(frozen=True)
class TrialSpec:
    number: int
    trial_id: int
    values: dict[str, Any]


@dataclass(frozen=True)
class TrialOutcome:
    state: Literal["complete", "pruned", "failed"]
    value: float | None = None
    run_ids: list[str] = field(default_factory=list)
    message: str = ""


def run_trial(
    spec: TrialSpec, sweep: SweepConfig, base: ExperimentConfig, study_name: str, storage: str, parent_run_id: str
) -> TrialOutcome:
    from orchestrator.driver import RunStopped, train
    from orchestrator.tracking.mlflow_tracker import MlflowTracker

    study = optuna.load_study(study_name=study_name, storage=open_storage(storage), pruner=make_pruner(sweep))
    trial = optuna.trial.Trial(study, spec.trial_id)
    objective = sweep.objective
    values: list[float] = []
    run_ids: list[str] = []
    for i in range(sweep.seeds_per_trial):
        config = with_overrides(base, [*as_overrides(spec.values), f"seed={base.seed + i}"])
        config.tracking.run_name = f"{sweep.name}-trial{spec.number}-seed{config.seed}"
        tags = {PARENT_TAG: parent_run_id, TRIAL_NUMBER_TAG: str(spec.number)}
        tags |= {f"sweep.param.{k}": str(v) for k, v in spec.values.items()}
        tracker = MlflowTracker(config, tags=tags)
        run_ids.append(tracker.run_id)
        trial.set_user_attr(RUN_IDS_ATTR, run_ids)
        reporter = _Reporter(trial, objective, prune=i == 0)
        try:
            train(config, on_step=reporter, log=lambda message: None, tracker=tracker)
        except RunStopped:
            return TrialOutcome("pruned", objective.of(reporter.values) if reporter.values else None, run_ids)
        if not reporter.values:
            return TrialOutcome("failed", None, run_ids, f"run {tracker.run_id} never logged {objective.metric}")
        values.append(objective.of(reporter.values))
    return TrialOutcome("complete", statistics.fmean(values), run_ids)


@dataclass
class _Reporter:
    """The on_step callback of a trial's run: collects the metric at each evaluation and, for the
    first seed's run, reports the objective so far (the last value, or the mean up to this step) to
    the trial and stops the run when the pruner says so."""

    trial: optuna.Trial
    objective: Objective
    prune: bool
    values: list[float] = field(default_factory=list)

    def __call__(self, step: int, metrics: dict[str, float]) -> None:
        from orchestrator.driver import RunStopped

        if self.objective.metric not in metrics:
            return
        self.values.append(metrics[self.objective.metric])
        if self.prune:
            self.trial.report(self.objective.of(self.values), step)
            if self.trial.should_prune():
                raise RunStopped(f"pruned at step {step}")


def make_pruner(sweep: SweepConfig) -> optuna.pruners.BasePruner:
    p = sweep.pruner
    if p.name == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=p.startup_trials, n_warmup_steps=p.warmup_steps)
