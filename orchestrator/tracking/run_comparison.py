"""Runs read back from MLflow into what orchestrator/stats judges: each run's value of a metric,
keyed by its row and its pair (warm start, seed).

A run's row is its `analysis.row` param; a sweep trial's run is the row `trial<N>`; otherwise the
row is named by the settings that differ between the runs given (seed and bookkeeping aside). Its
pair is (`policy.model`, `seed`): the policy it started from and the seed of its users, which is
what runs of different rows share in a paired design. The declared comparison set is read from the
runs' `analysis.*` params, where the config put it before they ran.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from orchestrator.stats.analysis_config import AnalysisConfig
from orchestrator.stats.hierarchical import PairKey

PARENT_TAG = "mlflow.parentRunId"
TRIAL_TAG = "sweep.trial_number"
MUST_MATCH = ("trainer.eval_levels", "trainer.eval_scenarios", "trainer.eval_every", "trainer.steps", "simulator.name")
"""Settings that make two runs' evaluations the same measurement."""
NOT_A_ROW = ("seed", "policy.model", "rollout.sampling_seed", "workdir", "tracking.", "analysis.", "ray.", "resources.")
"""Keys that never name a row: the pair's identity and where a run wrote."""


class NotComparable(ValueError):
    """The runs given cannot be compared; the message names the runs and the setting."""


@dataclass
class RunSet:
    """data[metric][row][(warm start, seed)] = value, and what was read to get it."""

    data: dict[str, dict[str, dict[PairKey, float]]]
    plan: AnalysisConfig
    declared: bool
    """Whether the runs declared a reference and comparisons in their config and no flag changed
    the plan: only then is the family the one fixed before the runs."""
    rows: dict[str, list[str]] = field(default_factory=dict)
    """Row -> its run ids."""


def expand(client, run_ids: list[str]) -> list:
    """The runs named, a sweep's parent run standing for its trial runs."""
    from mlflow.exceptions import MlflowException

    runs = []
    for run_id in run_ids:
        try:
            run = client.get_run(run_id)
        except MlflowException:
            raise NotComparable(f"no MLflow run {run_id} in {client.tracking_uri}") from None
        children = client.search_runs([run.info.experiment_id], f"tags.{PARENT_TAG} = '{run_id}'", max_results=10_000)
        runs += children or [run]
    return runs


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def declared_plan(runs: list) -> AnalysisConfig:
    """The `analysis` section the runs were started with; runs that declared different sets are
    not one experiment."""
    seen: dict[str, dict[str, str]] = defaultdict(dict)
    for run in runs:
        for key, value in run.data.params.items():
            if key.startswith("analysis.") and key != "analysis.row":
                seen[key][run.info.run_id] = value
    fields = {}
    for key, by_run in seen.items():
        if len(set(by_run.values())) > 1:
            detail = ", ".join(f"{rid[:8]}: {v}" for rid, v in sorted(by_run.items())[:4])
            raise NotComparable(f"the runs declared different {key} ({detail}): they are not one experiment")
        fields[key.removeprefix("analysis.")] = _literal(next(iter(by_run.values())))
    return AnalysisConfig(**{k: v for k, v in fields.items() if v is not None and v != "None"})


def _check_comparable(runs: list) -> None:
    for key in MUST_MATCH:
        values = defaultdict(list)
        for run in runs:
            values[run.data.params.get(key, "<missing>")].append(run.info.run_id[:8])
        if len(values) > 1:
            detail = "; ".join(f"{value} in {', '.join(ids[:3])}{'...' if len(ids) > 3 else ''}" for value, ids in values.items())
            raise NotComparable(f"runs differ in {key} ({detail}): their evaluations are not the same measurement")


def row_names(runs: list) -> dict[str, str]:
    """Run id -> row: `analysis.row`, else `trial<N>` in a sweep, else the differing settings."""
    varying = sorted(
        key
        for key in {k for run in runs for k in run.data.params}
        if not key.startswith(NOT_A_ROW) and len({run.data.params.get(key) for run in runs}) > 1
    )
    names = {}
    for run in runs:
        params, tags = run.data.params, run.data.tags
        if params.get("analysis.row") not in (None, "None"):
            names[run.info.run_id] = params["analysis.row"]
        elif TRIAL_TAG in tags:
            names[run.info.run_id] = f"trial{tags[TRIAL_TAG]}"
        else:
            names[run.info.run_id] = ",".join(f"{k}={params.get(k)}" for k in varying) or "all"
    return names


def run_value(client, run_id: str, metric: str, reduce: str) -> float | None:
    history = sorted((m.step, m.value) for m in client.get_metric_history(run_id, metric))
    if not history:
        return None
    values = [v for _, v in history]
    return float(np.mean(values)) if reduce == "mean" else float(values[-1])


def read_runs(client, run_ids: list[str], overrides: dict[str, Any] | None = None) -> RunSet:
    """The runs' values of the plan's metrics, by row and pair. `overrides` (from flags) replace
    fields of the declared plan, and the result then says it was not declared."""
    runs = [r for r in expand(client, run_ids) if r.info.status == "FINISHED"]
    if len(runs) < 2:
        raise NotComparable(f"{len(runs)} finished run(s) among {', '.join(run_ids)}: a comparison needs at least two")
    _check_comparable(runs)
    plan = declared_plan(runs)
    changed = {k: v for k, v in (overrides or {}).items() if v is not None and getattr(plan, k) != v}
    plan = AnalysisConfig.model_validate(plan.model_dump() | changed)
    declared = bool(plan.reference and plan.comparisons) and not changed
    names = row_names(runs)
    data: dict[str, dict[str, dict[PairKey, float]]] = {}
    rows: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        rows[names[run.info.run_id]].append(run.info.run_id)
    for metric in (plan.metric, *plan.secondary_metrics):
        by_row: dict[str, dict[PairKey, float]] = defaultdict(dict)
        missing = []
        for run in runs:
            value = run_value(client, run.info.run_id, metric, plan.reduce)
            if value is None:
                missing.append(run.info.run_id[:8])
                continue
            key = (run.data.params.get("policy.model", "?"), int(run.data.params.get("seed", 0)))
            row = names[run.info.run_id]
            if key in by_row[row]:
                raise NotComparable(f"row {row} has two runs on warm start {key[0]} with seed {key[1]}: pairs must be unique")
            by_row[row][key] = value
        if missing:
            raise NotComparable(f"metric {metric} missing from run(s) {', '.join(missing)} (is it logged at their evaluations?)")
        data[metric] = dict(by_row)
    return RunSet(data, plan, declared=declared, rows=dict(rows))
