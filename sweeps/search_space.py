"""A trial's values for the searched keys, suggested through Optuna (pure: no Ray, no MLflow)."""

from __future__ import annotations

import json
from typing import Any

import optuna

from sweeps.sweep_config import BandSpace, Categorical, Numeric


def _suggest_number(trial: optuna.Trial, name: str, dist: Numeric) -> float | int:
    if dist.integer:
        return trial.suggest_int(name, int(dist.low), int(dist.high), step=int(dist.step or 1), log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def suggest(trial: optuna.Trial, space: dict[str, Categorical | Numeric | BandSpace]) -> dict[str, Any]:
    """Experiment key -> value. The band comes from its centre and width, clipped inside (0, 1)."""
    values: dict[str, Any] = {}
    for key, dist in space.items():
        if isinstance(dist, Categorical):
            values[key] = trial.suggest_categorical(key, dist.choices)
        elif isinstance(dist, Numeric):
            values[key] = _suggest_number(trial, key, dist)
        else:
            centre = _suggest_number(trial, f"{key}.centre", dist.centre)
            width = _suggest_number(trial, f"{key}.width", dist.width)
            values[key] = [round(max(0.01, centre - width / 2), 6), round(min(0.99, centre + width / 2), 6)]
    return values


def as_overrides(values: dict[str, Any]) -> list[str]:
    """`--set` strings for the values (JSON is YAML, so lists, strings and null survive)."""
    return [f"{key}={json.dumps(value)}" for key, value in values.items()]
