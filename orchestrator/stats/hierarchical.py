"""Several warm starts, seeds within them: the design that samples the variance one shared warm
start hides, and the statistics that respect it.

A pair is identified by its warm start and its seed. What a test may treat as independent:

* **several warm starts, one seed each**: the pairs. For a fixed number of runs this design
  samples the most warm starts and keeps the most degrees of freedom, which is why the curriculum
  experiment gives every seed a warm start of its own.
* **several warm starts, several seeds in some**: the warm starts. Two pairs of one warm start
  share it, so its pairs' mean difference is one observation and the t test has W - 1 degrees of
  freedom (exact for a balanced design under normality).
* **one warm start**: the seeds, and the verdict is about that warm start only: the variance
  between warm starts was never sampled, and the report says so.

Bootstraps resample warm starts first, then seeds within each drawn warm start (the
hierarchical bootstrap of Saravanan et al. 2020), both rows of a pair together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from orchestrator.stats.paired import CONFIDENCE

PairKey = tuple[str, int]
"""(warm start, seed): the identity of a pair, the same in every row of an experiment."""

RESAMPLES = 10_000


@dataclass(frozen=True)
class Units:
    """What a paired test treats as independent: one value per unit on each side."""

    values: np.ndarray
    reference: np.ndarray
    warm_starts: int
    pairs: int
    unit: str
    """`pair`, `warm start` or `seed` (all on one warm start)."""


def common_pairs(values: Mapping[PairKey, float], reference: Mapping[PairKey, float]) -> list[PairKey]:
    """The pairs both rows ran, in a fixed order."""
    return sorted(set(values) & set(reference))


def paired_units(values: Mapping[PairKey, float], reference: Mapping[PairKey, float]) -> Units:
    keys = common_pairs(values, reference)
    if not keys:
        raise ValueError("the two rows share no (warm start, seed) pair")
    by_start: dict[str, list[PairKey]] = defaultdict(list)
    for key in keys:
        by_start[key[0]].append(key)
    one_each = all(len(members) == 1 for members in by_start.values())
    if one_each or len(by_start) == 1:
        a = np.array([values[k] for k in keys])
        b = np.array([reference[k] for k in keys])
        return Units(a, b, len(by_start), len(keys), "pair" if one_each and len(keys) > 1 else "seed")
    starts = sorted(by_start)
    a = np.array([np.mean([values[k] for k in by_start[s]]) for s in starts])
    b = np.array([np.mean([reference[k] for k in by_start[s]]) for s in starts])
    return Units(a, b, len(starts), len(keys), "warm start")


def hierarchical_resamples(keys: list[PairKey], resamples: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Index arrays into `keys`: warm starts drawn with replacement, then seeds within each."""
    by_start: dict[str, list[int]] = defaultdict(list)
    for i, (start, _) in enumerate(keys):
        by_start[start].append(i)
    groups = [np.array(v) for _, v in sorted(by_start.items())]
    draws = []
    for _ in range(resamples):
        chosen = rng.integers(0, len(groups), size=len(groups))
        draws.append(np.concatenate([rng.choice(groups[g], size=len(groups[g])) for g in chosen]))
    return draws


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """rliable's P(X > Y): the chance that a run of X scores above a run of Y, ties counting half
    (the Mann-Whitney U statistic over every pair of runs, divided by n * m)."""
    x, y = np.asarray(x, dtype=float)[:, None], np.asarray(y, dtype=float)[None, :]
    return float(np.mean((x > y) + 0.5 * (x == y)))


def hierarchical_interval(
    values: Mapping[PairKey, float],
    reference: Mapping[PairKey, float],
    statistic: Callable[[np.ndarray, np.ndarray], float],
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """statistic(values, reference) over the common pairs, with its percentile interval under the
    hierarchical bootstrap. Descriptive: at a few warm starts a bootstrap under-covers, which is
    why no verdict rests on it."""
    keys = common_pairs(values, reference)
    a = np.array([values[k] for k in keys])
    b = np.array([reference[k] for k in keys])
    point = statistic(a, b)
    draws = [statistic(a[i], b[i]) for i in hierarchical_resamples(keys, resamples, np.random.default_rng(seed))]
    low, high = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    return point, float(low), float(high)
