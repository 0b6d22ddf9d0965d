"""The curves of runs on one shared step axis: pass rate (band shaded), difficulty, reward and
entropy. One list of curves for every figure of them: a run's own `curves.png`, `goldilocks
report` (runs read back from MLflow) and the sweep's parent run, so a figure means the same
wherever it appears."""

from __future__ import annotations

from pathlib import Path

CURVES = [
    ("curriculum/pass_rate", "pass rate"),
    ("curriculum/difficulty", "difficulty"),
    ("reward/mean", "reward"),
    ("actor/entropy", "entropy"),
]
CURVE_KEYS = [key for key, _ in CURVES] + ["curriculum/band_low", "curriculum/band_high"]
"""What a figure of these curves reads: the curves and the band."""
History = dict[str, list[tuple[int, float]]]


def fetch_histories(client, run_ids: list[str], keys: list[str] | None = None) -> dict[str, History]:
    """run id -> metric key -> [(step, value)], read from MLflow."""
    keys = keys or CURVE_KEYS
    return {
        run_id: {key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)] for key in keys} for run_id in run_ids
    }


def draw_curves(axes, histories: dict[str, History], curves: list[tuple[str, str]]) -> None:
    """One line per run on each axis; the pass-rate axis gets the first run's band shaded."""
    for ax, (key, label) in zip(axes, curves, strict=True):
        for name, history in histories.items():
            points = history.get(key, [])
            if points:
                steps, values = zip(*points, strict=True)
                ax.plot(steps, values, label=name, linewidth=1.1)
        if key == "curriculum/pass_rate":
            band = _band(histories)
            if band:
                ax.axhspan(*band, color="tab:green", alpha=0.12)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)


def _band(histories: dict[str, History]) -> tuple[float, float] | None:
    for history in histories.values():
        low, high = history.get("curriculum/band_low"), history.get("curriculum/band_high")
        if low and high:
            return low[-1][1], high[-1][1]
    return None


def plot_runs(histories: dict[str, History], out: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(CURVES), 1, figsize=(9, 10), sharex=True)
    draw_curves(axes, histories, CURVES)
    axes[0].legend(fontsize=8, ncol=3)
    axes[0].set_title(title)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def runs_table(runs: list, out: Path) -> Path:
    """One row per run: name, id, status, the last value of every metric."""
    import csv

    keys = sorted({k for r in runs for k in r.data.metrics})
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run_name", "run_id", "status", *keys])
        for r in runs:
            writer.writerow([r.info.run_name, r.info.run_id, r.info.status, *(r.data.metrics.get(k, "") for k in keys)])
    return out
