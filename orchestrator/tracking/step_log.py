"""Each step's metrics reach MLflow the moment the step ends, and each step's once.

A run killed between checkpoints loses the steps after its newest checkpoint, and the resumed run
re-does them. Their points are already in MLflow, logged live by the trajectory the kill cut
short. W&B's resume rule decides what happens to them: a step already in the history is not
logged again. The re-done range goes into the tag `resume.redone_steps`, so a reader knows those
points came from the lost trajectory, not from the weights the run went on with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.tracking.mlflow_tracker import Tracker

STEP_KEY = "perf/step_s"
"""A metric every step logs, in the same batch as all its others: its history says which steps
MLflow holds."""
REDONE_TAG = "resume.redone_steps"


@dataclass
class StepLog:
    tracker: Tracker
    redone: frozenset[int] = field(default_factory=frozenset)
    """Steps this run re-does whose points MLflow already holds."""

    @classmethod
    def resuming(cls, tracker: Tracker, first_step: int) -> StepLog:
        """The log of a run that continues at `first_step`: the steps MLflow holds from there on
        were logged before the kill, and are recorded as re-done (added to earlier resumes' ranges)."""
        redone = frozenset(step for step, _ in tracker.metric_history(STEP_KEY) if step >= first_step)
        if redone:
            earlier = tracker.tag(REDONE_TAG)
            ranges = step_ranges(sorted(redone))
            tracker.set_tags({REDONE_TAG: f"{earlier},{ranges}" if earlier else ranges})
        return cls(tracker, redone)

    def metrics(self, step: int, values: dict[str, float]) -> bool:
        """Log a finished step's metrics unless MLflow has that step; whether they were logged."""
        if step in self.redone:
            return False
        self.tracker.log_metrics(values, step)
        return True

    def table(self, step: int, rows: list[dict[str, Any]], artifact_file: str) -> None:
        """A step's sampled dialogues, kept with the points they belong to: a re-done step's
        table stays the lost trajectory's."""
        if step not in self.redone:
            self.tracker.log_table(rows, artifact_file)


def step_ranges(steps: list[int]) -> str:
    """`[3, 4, 5, 9]` -> `3-5,9`: sorted steps as the runs of consecutive ones."""
    runs: list[list[int]] = []
    for step in steps:
        if runs and step == runs[-1][1] + 1:
            runs[-1][1] = step
        else:
            runs.append([step, step])
    return ",".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)
