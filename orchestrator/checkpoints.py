"""Run checkpoints: what a resumed run needs to continue as if it had never stopped.

A checkpoint `runs/<run id>/checkpoints/step_NNNNNN` holds the policy (HF format), the learner's
optimisation state (workers/learner.py) and `trainer_state.json`: the number of finished steps,
the scenario sampler's RNG, the initial policy (the KL anchor) and where the controller's Optuna
study lives. It is written to a temp dir and renamed, so a crash never leaves half a checkpoint,
and only the newest `keep` are kept. The run's resolved config sits beside them (`config.json`), so
`goldilocks run --resume RUN_ID` needs nothing else.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from orchestrator.cluster.learner_group import LearnerGroup
from orchestrator.config import ExperimentConfig

STATE_FILE = "trainer_state.json"
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


def save_checkpoint(learner: LearnerGroup, run_dir: Path, state: TrainerState, keep: int) -> Path:
    """Written in a staging directory and renamed when whole: a learner that fails mid-save
    leaves the previous checkpoint the newest."""
    root = run_dir / "checkpoints"
    final = root / f"{_PREFIX}{state.step:06d}"
    staging = final.with_name(final.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    learner.save(str(staging))
    (staging / STATE_FILE).write_text(json.dumps(asdict(state)))
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    for old in checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (a `.tmp` staging dir is never one)."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.name.startswith(_PREFIX) and p.name[len(_PREFIX) :].isdigit()]
    return sorted((p for p in found if (p / STATE_FILE).is_file()), key=lambda p: int(p.name[len(_PREFIX) :]))


def load_state(checkpoint: Path) -> TrainerState:
    path = checkpoint / STATE_FILE
    try:
        fields = json.loads(path.read_text())
        fields.pop("unlogged", None)  # older checkpoints' metrics buffer: their steps were logged live since
        return TrainerState(**fields)
    except (OSError, ValueError, TypeError) as exc:
        raise ResumeError(f"{path}: not a readable trainer state ({exc})") from None


def save_config(config: ExperimentConfig, run_dir: Path) -> None:
    (run_dir / CONFIG_FILE).write_text(json.dumps(config.model_dump(mode="json"), indent=1))


def stored_config(run_dir: Path, overrides: list[str]) -> ExperimentConfig:
    """The run's own resolved config, with `--set` overrides on top (e.g. more trainer.steps)."""
    from orchestrator.config import load_config

    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise ResumeError(f"{run_dir} holds no {CONFIG_FILE}: not a goldilocks run directory")
    return load_config(path, overrides)


def find_run_dir(workdir: Path, run_id: str) -> Path | None:
    """`run_id` is an MLflow run id, or `auto`: the run in `workdir` whose newest checkpoint is the
    most recent and which did not finish (None when there is none: a fresh run starts)."""
    if run_id != "auto":
        run_dir = workdir / run_id
        if not run_dir.is_dir():
            raise ResumeError(f"--resume {run_id}: no run directory {run_dir}")
        if not checkpoints(run_dir):
            raise ResumeError(f"--resume {run_id}: {run_dir} has no complete checkpoint to resume from")
        return run_dir
    runs = [d for d in workdir.iterdir() if d.is_dir()] if workdir.is_dir() else []
    candidates = [d for d in runs if checkpoints(d) and not (d / FINISHED).exists()]
    return max(candidates, key=lambda d: checkpoints(d)[-1].stat().st_mtime) if candidates else None
