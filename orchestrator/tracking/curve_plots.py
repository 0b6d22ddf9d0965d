"""The run's curves as one PNG: reward, pass rate against its band, difficulty, entropy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

PANELS = (
    ("reward/mean", "reward"),
    ("curriculum/pass_rate", "pass rate"),
    ("curriculum/difficulty", "difficulty"),
    ("actor/entropy", "entropy (nats/token)"),
)


def plot_curves(history: Callable[[str], list[tuple[int, float]]], out: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharex=True)
    for ax, (key, label) in zip(axes.flat, PANELS, strict=True):
        points = history(key)
        if points:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, marker=".", linewidth=1.2)
        if key == "curriculum/pass_rate":
            low, high = history("curriculum/band_low"), history("curriculum/band_high")
            if low and high:
                ax.axhspan(low[-1][1], high[-1][1], color="tab:green", alpha=0.15, label="target band")
                ax.legend(loc="best", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("step")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
