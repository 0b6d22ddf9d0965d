"""The sweep file (`sweeps/*.yaml`): a base experiment, a search space over its dotted keys, an
objective, a budget. Validated like experiment configs: unknown keys, bad ranges and keys the
experiment config does not have are errors that name the field, before anything runs.

A search-space entry is named by the experiment key it sets (one name per knob: the `--set` flag,
the Optuna parameter and the MLflow param are the same string), with one exception:
`curriculum.band` is searched as `curriculum.band.centre` and `curriculum.band.width`, the two
numbers a user thinks in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orchestrator.config import ConfigError, ExperimentConfig, load_config

BAND = "curriculum.band"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Categorical(_Strict):
    choices: list[str | int | float | bool | None] = Field(min_length=1, description="Values to choose from.")


class Numeric(_Strict):
    low: float
    high: float
    log: bool = Field(False, description="Sample on a log scale.")
    step: float | None = Field(None, gt=0, description="Grid step (no log scale then).")
    integer: bool = Field(False, description="Suggest integers.")

    @model_validator(mode="after")
    def _valid_range(self) -> Numeric:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("log scale needs low > 0 and no step")
        return self


class BandSpace(_Strict):
    centre: Numeric
    width: Numeric


class Objective(_Strict):
    metric: str = Field("eval/0.8/score", description="MLflow metric of a trial's run, logged at each evaluation.")
    direction: Literal["maximize", "minimize"] = "maximize"
    reduce: Literal["last", "mean"] = Field(
        "last",
        description="A run's objective: the metric's last value, or its mean over the run's evaluations (the area "
        "under the learning curve, which credits learning early and is less one evaluation's luck).",
    )

    def of(self, values: list[float]) -> float:
        """The objective of a run whose evaluations gave `values` so far (oldest first)."""
        return values[-1] if self.reduce == "last" else sum(values) / len(values)


class Pruner(_Strict):
    name: Literal["median", "none"] = "median"
    startup_trials: int = Field(2, ge=0, description="Trials that finish before any is pruned.")
    warmup_steps: int = Field(0, ge=0, description="Training steps of a trial before it can be pruned.")


class Sampler(_Strict):
    name: Literal["tpe", "random", "gp"] = "tpe"
    seed: int | None = 0


class SweepConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Study name; also the MLflow parent run's name.")
    base: str | None = Field(None, description="Experiment YAML, relative to this file (default: the demo config).")
    set: list[str] = Field([], description="Overrides applied to the base of every trial (`--set` adds more).")
    space: dict[str, Categorical | Numeric | BandSpace] = Field(min_length=1)
    objective: Objective = Objective()
    trials: int = Field(8, ge=1, description="Budget: finished (complete or pruned) trials in the study.")
    parallel: int = Field(1, ge=1, description="Trials running at once, each a training run on Ray.")
    seeds_per_trial: int = Field(1, ge=1, description="Runs per trial (seed, seed+1, ...); the objective is their mean.")
    pruner: Pruner = Pruner()
    sampler: Sampler = Sampler()
    storage: str | None = Field(None, description="Optuna storage (default: sqlite in the base config's workdir).")

    @model_validator(mode="after")
    def _band_is_searched_as_centre_and_width(self) -> SweepConfig:
        for key, dist in self.space.items():
            if (key == BAND) != isinstance(dist, BandSpace):
                raise ValueError(f"space.{key}: {BAND} takes {{centre: ..., width: ...}}, and only it does")
        return self


def load_sweep(path: str | Path, extra_overrides: list[str] | None = None) -> tuple[SweepConfig, ExperimentConfig]:
    """The sweep and its base experiment (with the sweep's `set` and `extra_overrides`), both
    validated; every searched key is tried on the base so a typo fails here, not in trial 7."""
    source = Path(path)
    try:
        raw = yaml.safe_load(source.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"sweep file {source} is not valid YAML: {exc}") from None
    try:
        sweep = SweepConfig.model_validate(raw)
    except ValidationError as err:
        lines = [f"invalid sweep ({source}):"]
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"] if not str(p).startswith(("Categorical", "Numeric", "BandSpace")))
            lines.append(f"  {key or '<root>'}: {'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None
    base_path = source.parent / sweep.base if sweep.base else None
    overrides = [*sweep.set, *(extra_overrides or [])]
    base = load_config(base_path, overrides)
    for key, dist in sweep.space.items():
        for example in _examples(dist):
            try:
                load_config(base_path, [*overrides, f"{key}={example}"])
            except ConfigError as exc:
                raise ConfigError(f"sweep {source}: space.{key} = {example} does not fit the experiment config:\n{exc}") from None
    _check_objective(sweep, base, source)
    return sweep, base


def _examples(dist: Categorical | Numeric | BandSpace) -> list[str]:
    """Values at the edges of the space (every choice), as `--set` strings."""
    if isinstance(dist, Categorical):
        return [json.dumps(c) for c in dist.choices]
    if isinstance(dist, Numeric):
        return [str(int(x) if dist.integer else x) for x in (dist.low, dist.high)]
    c, w = dist.centre, dist.width
    return [f"[{max(0.01, c.low - w.high / 2)},{min(0.99, c.low + w.high / 2)}]", f"[{c.high - w.low / 2},{c.high + w.low / 2}]"]


def _check_objective(sweep: SweepConfig, base: ExperimentConfig, source: Path) -> None:
    parts = sweep.objective.metric.split("/")
    if parts[0] != "eval":
        return
    if not base.trainer.eval_every:
        raise ConfigError(f"sweep {source}: objective {sweep.objective.metric} needs trainer.eval_every > 0 in the base")
    levels = {f"{x:g}" for x in base.trainer.eval_levels}
    if len(parts) != 3 or parts[1] not in levels:
        raise ConfigError(
            f"sweep {source}: objective.metric {sweep.objective.metric!r} is not eval/<level>/<name> with a level of "
            f"trainer.eval_levels ({', '.join(sorted(levels))})"
        )
