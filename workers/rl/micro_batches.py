"""How a batch is cut into forward passes: by a token budget, not a row count.

Rows of one RL batch differ in length by an order of magnitude (a dialogue that ended after one
turn beside one that ran eight), so a fixed number of rows per forward either wastes compute on
padding or runs out of memory on the long ones. Rows are sorted by length and packed greedily
while (rows x longest row) stays within `budget` tokens - the padded size a forward actually
costs - so each micro-batch is padded only to its own longest row. A row longer than the budget
gets a forward of its own. The loss does not depend on the split: its token weights are the whole
batch's (`losses.token_weights`)."""

from __future__ import annotations

import numpy as np


def pack_by_tokens(lengths: np.ndarray, budget: int) -> list[np.ndarray]:
    """Row indices of each micro-batch, shortest rows first."""
    if budget < 1:
        raise ValueError(f"a micro-batch token budget must be at least 1, got {budget}")
    groups: list[np.ndarray] = []
    current: list[int] = []
    for i in np.argsort(lengths, kind="stable"):
        if current and (len(current) + 1) * int(lengths[i]) > budget:
            groups.append(np.array(current))
            current = []
        current.append(int(i))
    if current:
        groups.append(np.array(current))
    return groups


def padding_fraction(lengths: np.ndarray, groups: list[np.ndarray]) -> float:
    """Share of the tokens the forwards process that are padding."""
    padded = sum(len(g) * int(lengths[g].max()) for g in groups)
    return 1.0 - float(lengths.sum()) / padded if padded else 0.0
