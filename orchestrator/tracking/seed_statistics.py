"""Comparing controllers over a handful of seeds, the way rliable (Agarwal et al., NeurIPS 2021)
asks: the interquartile mean (robust to one seed's luck, less noisy than the median), with a 95 %
bootstrap interval that resamples seeds within each controller (rliable's stratified bootstrap;
with one task, the strata are the controllers); and, for the paired design where every controller
shares each seed's start, users and held-out episodes, the mean per-seed difference to a reference
with its own bootstrap interval, so the noise the pair has in common cancels.

scipy.stats.bootstrap does the resampling; an interval of fewer than three seeds is not given
(None), since a bootstrap over two values says nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 10_000


def iqm(values: Sequence[float], axis: int = -1) -> float | np.ndarray:
    """Mean of the middle half (25 % trimmed from each end; scipy.stats.trim_mean)."""
    return stats.trim_mean(values, 0.25, axis=axis)


@dataclass(frozen=True)
class Estimate:
    point: float
    low: float | None
    high: float | None
    seeds: int

    def contains(self, value: float) -> bool:
        return self.low is not None and self.high is not None and self.low <= value <= self.high

    def as_dict(self) -> dict:
        return asdict(self)


def _interval(values: np.ndarray, statistic, seed: int) -> tuple[float | None, float | None]:
    if len(values) < 3 or np.ptp(values) == 0:
        return (None, None) if len(values) < 3 else (float(values[0]), float(values[0]))
    result = stats.bootstrap(
        (values,),
        statistic,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        vectorized=True,
        axis=-1,
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def iqm_estimate(values: Sequence[float], seed: int = 0) -> Estimate:
    """IQM over seeds and its 95 % percentile-bootstrap interval."""
    x = np.asarray(values, dtype=float)
    low, high = _interval(x, iqm, seed)
    return Estimate(float(iqm(x)), low, high, len(x))


def paired_difference(values: Sequence[float], reference: Sequence[float], seed: int = 0) -> Estimate:
    """Mean over seeds of values[s] - reference[s] and its 95 % bootstrap interval (seeds resampled
    as pairs). The mean, not the IQM: with paired differences the seed's luck has mostly cancelled,
    and the mean is what a paired test's interval is about."""
    a, b = np.asarray(values, dtype=float), np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired difference needs one value per seed on both sides, got {len(a)} and {len(b)}")
    diff = a - b
    low, high = _interval(diff, np.mean, seed)
    return Estimate(float(diff.mean()), low, high, len(diff))
