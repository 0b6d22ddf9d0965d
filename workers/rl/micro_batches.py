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
    padded = sum(len(g) * int(lengths[g].max()) for g in groups if len(g))
    return 1.0 - float(lengths.sum()) / padded if padded else 0.0


def deal_to_ranks(groups: list[np.ndarray], lengths: np.ndarray, world: int) -> list[list[np.ndarray]]:
    """Micro-batches for each of `world` learner ranks, the same number on every rank: a sharded
    model's forward and backward are collectives, so a rank with one micro-batch fewer would leave
    the others waiting. Groups are split (largest multi-row first) until their count divides by
    `world`; where single rows cannot be split further, a rank gets an empty group, which the
    learner runs as a zero-weight forward. Dealt largest first in snake order, so every rank's
    padded tokens are close."""
    groups = list(groups)

    def cost(group: np.ndarray) -> int:
        return len(group) * int(lengths[group].max()) if len(group) else 0

    while len(groups) % world:
        splittable = [g for g in groups if len(g) > 1]
        if not splittable:
            groups.append(np.array([], dtype=np.int64))
            continue
        largest = max(splittable, key=cost)
        groups = [g for g in groups if g is not largest] + [largest[: len(largest) // 2], largest[len(largest) // 2 :]]
    ranks: list[list[np.ndarray]] = [[] for _ in range(world)]
    for i, group in enumerate(sorted(groups, key=cost, reverse=True)):
        turn, seat = divmod(i, world)
        ranks[seat if turn % 2 == 0 else world - 1 - seat].append(group)
    return ranks
