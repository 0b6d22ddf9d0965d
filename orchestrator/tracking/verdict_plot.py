"""The figure of a comparison set: every unit's paired difference as a dot, the t interval as a
bar, the equivalence margin shaded, so a reader sees the spread a verdict rests on rather than a
bar alone (Henderson et al. 2018: show the seeds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from orchestrator.stats.comparison import Verdict


def plot_verdicts(verdicts: list[Verdict], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.6 * len(verdicts)))
    margin = next((v.test.margin for v in verdicts if v.test.margin), None)
    if margin:
        ax.axvspan(-margin, margin, color="0.92", zorder=0, label=f"+-{margin:g} margin")
    ax.axvline(0, color="grey", linewidth=0.8)
    rng = np.random.default_rng(0)
    for i, v in enumerate(reversed(verdicts)):
        colour = "tab:blue" if v.family == "primary" else "tab:grey"
        ax.scatter(v.differences, i + rng.uniform(-0.15, 0.15, len(v.differences)), s=12, alpha=0.6, color=colour)
        low, high = v.test.t_low, v.test.t_high
        ax.errorbar([v.test.mean], [i], xerr=[[v.test.mean - low], [high - v.test.mean]], fmt="D", color="black", capsize=4)
    labels = [f"{v.row} - {v.reference} ({v.metric}): {v.claim}" for v in reversed(verdicts)]
    ax.set_yticks(range(len(verdicts)), labels, fontsize=8)
    ax.set_xlabel("paired difference (dots: each unit; bar: mean, 95 % t interval)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
