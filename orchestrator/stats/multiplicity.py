"""Holm's step-down correction (Holm 1979) for a family of comparisons declared before the runs.

Holm controls the family-wise error rate at alpha under any dependence between the tests, like
Bonferroni, and is uniformly more powerful than it: the smallest p is multiplied by m, the next
by m - 1, and so on, each adjusted p kept at least as large as the one before it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given: reject comparison i at level alpha when its
    adjusted p is below alpha."""
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError(f"p-values must be a flat list of numbers in [0, 1], got {list(pvalues)}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return [float(x) for x in adjusted]
