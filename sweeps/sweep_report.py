"""What a sweep leaves on its MLflow parent run: a CSV of all trials and one comparison PNG -
the objective against each searched parameter, and the best trials' pass-rate, difficulty and
reward curves on one shared step axis."""

from __future__ import annotations

import tempfile
from pathlib import Path

import optuna
from optuna.trial import TrialState

from orchestrator.tracking.run_report import CURVES, draw_curves, fetch_histories
from sweeps.sweep_config import SweepConfig
from sweeps.trial_task import RUN_IDS_ATTR

BEST_SHOWN = 3


def trials_csv(study: optuna.Study, out: Path) -> Path:
    frame = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration"))
    frame.to_csv(out, index=False)
    return out


def comparison_png(study: optuna.Study, client, sweep: SweepConfig, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    params = sorted({name for t in finished for name in t.params})
    curves = CURVES[:3]
    fig = plt.figure(figsize=(max(9, 3 * len(params)), 11))
    grid = fig.add_gridspec(1 + len(curves), max(1, len(params)), height_ratios=[1.2] + [1] * len(curves))
    for i, name in enumerate(params):
        ax = fig.add_subplot(grid[0, i])
        for state, marker in ((TrialState.COMPLETE, "o"), (TrialState.PRUNED, "x")):
            points = [(t.params[name], _value(t)) for t in finished if t.state == state and name in t.params]
            points = [(x, y) for x, y in points if y is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.scatter([str(x) if isinstance(x, str) else x for x in xs], ys, marker=marker, label=state.name.lower())
        ax.set_xlabel(name, fontsize=8)
        ax.grid(alpha=0.3)
    if params:
        fig.axes[0].set_ylabel(f"{sweep.objective.metric} ({sweep.objective.reduce})")
        fig.axes[0].legend(fontsize=7)
    best = _best(study, sweep)
    runs = {f"trial {t.number}": t.user_attrs.get(RUN_IDS_ATTR, [None])[0] for t in best}
    histories = {label: fetch_histories(client, [rid])[rid] for label, rid in runs.items() if rid}
    axes = [fig.add_subplot(grid[1 + r, :]) for r in range(len(curves))]
    draw_curves(axes, histories, curves)
    if histories:
        axes[0].legend(fontsize=8, title=f"best {len(histories)} trials", title_fontsize=8)
    axes[-1].set_xlabel("step")
    fig.suptitle(f"sweep {sweep.name}: {sweep.objective.metric}, {sweep.objective.reduce} ({sweep.objective.direction})")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def _value(trial: optuna.trial.FrozenTrial) -> float | None:
    """A pruned trial's last reported value stands in for its objective."""
    if trial.value is not None:
        return trial.value
    return trial.intermediate_values[max(trial.intermediate_values)] if trial.intermediate_values else None


def _best(study: optuna.Study, sweep: SweepConfig) -> list[optuna.trial.FrozenTrial]:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return sorted(done, key=lambda t: t.value, reverse=sweep.objective.direction == "maximize")[:BEST_SHOWN]


def write_sweep_report(study: optuna.Study, parent_run_id: str, tracking_uri: str, sweep: SweepConfig) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    with tempfile.TemporaryDirectory() as tmp:
        client.log_artifact(parent_run_id, str(trials_csv(study, Path(tmp) / "trials.csv")), "sweep")
        client.log_artifact(parent_run_id, str(comparison_png(study, client, sweep, Path(tmp) / "comparison.png")), "sweep")
    best = _best(study, sweep)
    if best:
        client.log_metric(parent_run_id, "sweep/best_value", best[0].value)
        client.set_tag(parent_run_id, "sweep.best_trial", str(best[0].number))
