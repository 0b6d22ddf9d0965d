"""Run checkpoints: what a resumed run needs to continue as if it had never stopped.

A checkpoint `<run location>/checkpoints/step_NNNNNN` (orchestrator/run_storage.py: under
storage.uri, else workdir) holds the policy (HF format), the learner's optimisation state
(workers/learner.py), `trainer_state.json` (the number of finished steps, the scenario sampler's
RNG, the initial policy (the KL anchor) and where the controller's Optuna study lives) and, when
runs are stored remotely, a copy of that study. The learner writes its part straight to the
location from its own node; the driver then writes `trainer_state.json`, last: a checkpoint is
whole exactly when that file exists, so a crash mid-save never leaves one that passes for whole,
on a disk or an object store (which has no rename). Only the newest `keep` are kept. The run's
resolved config sits beside them (`config.json`), so `goldilocks run --resume RUN_ID` needs
nothing else.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import ValidationError

from orchestrator.cluster.learner_group import LearnerGroup
from orchestrator.config import ConfigError, ExperimentConfig, format_errors, with_overrides
from workers import storage

STATE_FILE = "trainer_state.json"
STUDY_FILE = "curriculum.db"
CONFIG_FILE = "config.json"
_PREFIX = "step_"
FINISHED = "FINISHED"
"""Marker file in a run dir: the run completed its steps (`--resume auto` passes it by)."""


class ResumeError(RuntimeError):
    """No run, or no usable checkpoint, to resume; the message says which and where."""


@dataclass(frozen=True)
class TrainerState:
    step: int
    """Finished steps: a resumed run starts with this step."""
    initial_policy: str
    study_name: str
    storage: str
    sampler_rng: list
    """`random.Random.getstate()` of the scenario sampler, as JSON lists."""
    faults: dict[str, float] = field(default_factory=dict)
    """The run's `faults/*` counts so far, so a resumed run's counts go on from them."""
    entropies: dict[str, float] = field(default_factory=dict)
    """The policy entropy of the last two steps (step -> entropy; JSON keys are strings): what the
    entropy guard's next proposals see."""
    simulator_totals: dict[str, float] = field(default_factory=dict)
    """The `llm` simulator's requests and tokens so far (`simulator/run_*`)."""
    learner_precision: str | None = None
    """What the learner computes in (fp32 / bf16) once its first update decided: a resumed run
    keeps it, whatever `algo.precision: auto` would decide on the machine it resumes on."""

    def restore_rng(self) -> random.Random:
        rng = random.Random()
        version, internal, gauss = self.sampler_rng
        rng.setstate((version, tuple(internal), gauss))
        return rng


def rng_state(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def save_checkpoint(
    learner: LearnerGroup, run_location: str, state: TrainerState, keep: int, study_db: Path | None = None
) -> str:
    """The learner's part, then the study's copy (`study_db`: the driver's sqlite file, when runs
    are stored remotely), then the state file that marks it whole. A partial directory left at
    this step by a crash is cleared first."""
    final = storage.join(run_location, "checkpoints", f"{_PREFIX}{state.step:06d}")
    storage.delete(final)
    learner.save(final)
    if study_db is not None:
        storage.write_bytes(storage.join(final, STUDY_FILE), _sqlite_copy(study_db))
    storage.write_text(storage.join(final, STATE_FILE), json.dumps(asdict(state)))
    for old in checkpoints(run_location)[:-keep]:
        storage.delete(storage.join(old, STATE_FILE))  # first: a crash mid-delete leaves no checkpoint that looks whole
        storage.delete(old)
    return final


def _sqlite_copy(db: Path) -> bytes:
    """A consistent copy of a sqlite database (its backup API), as the bytes of a file."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / db.name
        with contextlib.closing(sqlite3.connect(db)) as source, contextlib.closing(sqlite3.connect(copy)) as target:
            source.backup(target)
        return copy.read_bytes()


def checkpoints(run_location: str) -> list[str]:
    """Whole checkpoints, oldest first."""
    root = storage.join(run_location, "checkpoints")
    steps = sorted(
        int(n[len(_PREFIX) :]) for n in storage.children(root) if n.startswith(_PREFIX) and n[len(_PREFIX) :].isdigit()
    )
    found = [storage.join(root, f"{_PREFIX}{step:06d}") for step in steps]
    return [c for c in found if storage.exists(storage.join(c, STATE_FILE))]


def load_state(checkpoint: str) -> TrainerState:
    location = storage.join(checkpoint, STATE_FILE)
    try:
        fields = json.loads(storage.read_text(location))
        fields.pop("unlogged", None)  # older checkpoints' metrics buffer: their steps were logged live since
        return TrainerState(**fields)
    except (OSError, ValueError, TypeError) as exc:
        raise ResumeError(f"{storage.display(location)}: not a readable trainer state ({exc})") from None


def restore_study(checkpoint: str, db: Path) -> None:
    """Put the checkpoint's copy of the study at `db` (a resume on a driver without it), whole or
    not at all."""
    try:
        data = storage.read_bytes(storage.join(checkpoint, STUDY_FILE))
    except FileNotFoundError:
        raise ResumeError(
            f"{storage.display(checkpoint)} holds no copy of the controller's study, and this driver has none in "
            f"{db.parent}: was the run started with another curriculum.storage?"
        ) from None
    staging = db.with_name(db.name + ".tmp")
    staging.write_bytes(data)
    staging.replace(db)


def save_config(config: ExperimentConfig, run_location: str) -> None:
    storage.write_text(storage.join(run_location, CONFIG_FILE), json.dumps(config.model_dump(mode="json"), indent=1))


def stored_config(run_location: str, overrides: list[str]) -> ExperimentConfig:
    """The run's own resolved config, with `--set` overrides on top (e.g. more trainer.steps)."""
    location = storage.join(run_location, CONFIG_FILE)
    if not storage.exists(location):
        raise ResumeError(f"{storage.display(run_location)} holds no {CONFIG_FILE}: not a goldilocks run directory")
    try:
        stored = ExperimentConfig.model_validate(json.loads(storage.read_text(location)))
    except ValidationError as err:
        raise ConfigError(format_errors(err, f"{storage.display(location)}, the run's stored config")) from None
    except ValueError as err:
        raise ConfigError(f"{storage.display(location)}: the run's stored config is not readable JSON ({err})") from None
    return with_overrides(stored, overrides)


def find_run(root: str, run_id: str) -> str | None:
    """The location of run `run_id` (an MLflow run id) under `root` (orchestrator/run_storage.py),
    or with `auto` the run there whose newest checkpoint is the most recent and which did not
    finish (None when there is none: a fresh run starts)."""
    if run_id != "auto":
        location = storage.join(root, run_id)
        if not storage.exists(location):
            raise ResumeError(f"--resume {run_id}: no run directory {storage.display(location)}")
        if not checkpoints(location):
            raise ResumeError(f"--resume {run_id}: {storage.display(location)} has no complete checkpoint to resume from")
        return location
    newest: dict[str, float] = {}
    for name in storage.children(root):
        location = storage.join(root, name)
        found = checkpoints(location)
        if found and not storage.exists(storage.join(location, FINISHED)):
            newest[location] = storage.modified(storage.join(found[-1], STATE_FILE))
    return max(newest, key=newest.__getitem__) if newest else None
