"""The `progress` controller's rule: a bandit over a few difficulty levels whose arms pay the
policy's absolute learning progress there (teacher-student curriculum learning, Matiisen et al.
2017, its "window" teacher). The band aims at a pass rate someone chose; progress aims at where the
policy is learning fastest, which may be a level no band or fixed guess would name.

Learning progress at a level is the absolute slope, per training step, of the batch's mean reward
over the latest `window` steps trained there: rising reward means the policy is learning that
level, falling reward means it is forgetting it (which a curriculum should also revisit). The
steps are the controller's own history, so the measure needs no extra evaluation episodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def learning_progress(visits: Sequence[tuple[int, float]]) -> float:
    """|least-squares slope| of reward over step for one level's visits [(step, reward), ...];
    0 for fewer than two visits or visits all on one step."""
    if len(visits) < 2:
        return 0.0
    steps = np.array([s for s, _ in visits], dtype=float)
    rewards = np.array([r for _, r in visits], dtype=float)
    spread = steps - steps.mean()
    denominator = float(spread @ spread)
    if denominator == 0.0:
        return 0.0
    return abs(float(spread @ (rewards - rewards.mean())) / denominator)


def choose_level(
    history: Sequence[tuple[int, float, float]],
    levels: Sequence[float],
    window: int,
    epsilon: float,
    rng: np.random.Generator,
) -> float:
    """The next step's difficulty. `history`: (step, difficulty, reward mean) of the steps on
    record; a step whose difficulty is not one of `levels` (the entropy guard moved it) is not a
    visit. Every level is tried twice first, easiest first, so each has a slope before the bandit
    compares them; then with probability `epsilon` a level at random (slopes go stale where the
    policy is not training), else the level of the largest progress, the easier on a tie."""
    visits: dict[float, list[tuple[int, float]]] = {level: [] for level in levels}
    for step, difficulty, reward in history:
        for level in levels:
            if abs(difficulty - level) < 1e-9:
                visits[level].append((step, reward))
    for level in levels:
        if len(visits[level]) < 2:
            return level
    if rng.random() < epsilon:
        return float(levels[int(rng.integers(len(levels)))])
    progress = [learning_progress(visits[level][-window:]) for level in levels]
    return float(levels[int(np.argmax(progress))])
