"""The verdict procedure measured on nulls: how often does it claim a difference where there is
none? A procedure that says "resolved" more often than its alpha is not giving verdicts.

Two sources of nulls, as the issue that built this asked:

* **simulated**: A/A experiments drawn from the measured noise (paired differences with the
  spread seen in the runs, normal and heavy-tailed t with 3 degrees of freedom), each a whole
  declared family of `comparisons`, judged by the same rule as the real ones;
* **real**: resamples of the A/A row's differences (a row run twice, only the policy's sampling
  seed moved), so the noise is the experiment's own, tails and all.

A third measures what the rule promises only for a look fixed in advance: **peeking**, judging
the runs after every new pair and stopping at the first claim, which is why `goldilocks compare`
calls a look before `analysis.planned_units` interim.

The rate comes with its Clopper-Pearson interval: a measured 0.055 from 2000 draws is not
evidence of a broken procedure; a lower bound above alpha is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import stats

from orchestrator.stats.multiplicity import holm
from orchestrator.stats.paired import sign_flip_p, t_interval


@dataclass(frozen=True)
class FalsePositiveRate:
    source: str
    pairs: int
    comparisons: int
    draws: int
    rate: float
    """Share of draws in which the family claimed at least one difference."""
    low: float
    high: float
    alpha: float

    @property
    def within_nominal(self) -> bool:
        """Consistent with at most alpha: the interval reaches down to it."""
        return self.low <= self.alpha

    def as_dict(self) -> dict:
        return asdict(self) | {"within_nominal": self.within_nominal}


def family_claims(diffs: np.ndarray, alpha: float) -> bool:
    """The claim rule of orchestrator/stats/comparison.py on one family (rows: comparisons):
    does any comparison pass both the Holm-adjusted t test and the Holm-adjusted exact test?"""
    t_p = holm([t_interval(d)[2] for d in diffs])
    if min(t_p) >= alpha:  # no comparison can claim: the exact test need not be run
        return False
    exact_p = holm([sign_flip_p(d)[0] for d in diffs])
    return any(tp < alpha and ep < alpha for tp, ep in zip(t_p, exact_p, strict=True))


def _rate(source: str, pairs: int, comparisons: int, claims: list[bool], alpha: float) -> FalsePositiveRate:
    k, n = int(sum(claims)), len(claims)
    interval = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return FalsePositiveRate(source, pairs, comparisons, n, k / n, float(interval.low), float(interval.high), alpha)


def simulated_false_positive_rate(
    sd: float,
    pairs: int,
    comparisons: int,
    alpha: float = 0.05,
    draws: int = 2000,
    distribution: Literal["normal", "t3"] = "normal",
    seed: int = 0,
) -> FalsePositiveRate:
    """A/A families drawn from the noise model: `comparisons` null comparisons of `pairs` pairs."""
    rng = np.random.default_rng(seed)
    claims = []
    for _ in range(draws):
        if distribution == "normal":
            diffs = rng.normal(0.0, sd, size=(comparisons, pairs))
        else:
            diffs = rng.standard_t(3, size=(comparisons, pairs)) * sd / np.sqrt(3.0)
        claims.append(family_claims(diffs, alpha))
    return _rate(f"simulated {distribution}, sd {sd:.2f}", pairs, comparisons, claims, alpha)


def resampled_false_positive_rate(
    null_differences: Sequence[float], pairs: int, comparisons: int, alpha: float = 0.05, draws: int = 2000, seed: int = 0
) -> FalsePositiveRate:
    """A/A families resampled (with replacement) from real A/A differences and their negatives:
    which of two identical rows is called A is arbitrary, so an A/A difference is as likely to
    carry either sign, and the pool's own chance offset from 0 must not count as an effect."""
    real = np.asarray(null_differences, dtype=float)
    if len(real) < 3:
        raise ValueError(f"a real A/A calibration needs at least 3 A/A differences, got {len(real)}")
    pool = np.concatenate([real, -real])
    rng = np.random.default_rng(seed)
    claims = [family_claims(rng.choice(pool, size=(comparisons, pairs)), alpha) for _ in range(draws)]
    return _rate(f"resampled from {len(real)} real A/A differences", pairs, comparisons, claims, alpha)


def peeking_false_positive_rate(
    sd: float, planned: int, comparisons: int, first: int = 5, alpha: float = 0.05, draws: int = 1000, seed: int = 0
) -> FalsePositiveRate:
    """A/A families judged after every pair from `first` to `planned`, stopping at the first
    claim: the error rate of a procedure that treats every interim look as final."""
    if not 2 <= first <= planned:
        raise ValueError(f"looks from pair {first} to pair {planned}: need 2 <= first <= planned")
    diffs = np.random.default_rng(seed).normal(0.0, sd, size=(draws, comparisons, planned))
    looks = range(first, planned + 1)
    # Holm's smallest adjusted p is `comparisons` times the smallest raw one: a look whose raw t
    # p-values are all above alpha / comparisons cannot claim, and is not judged one by one.
    # (The slack keeps the screen conservative where the two computations of p differ in the last bit.)
    possible = np.stack([_t_p(diffs[:, :, :n]).min(axis=1) < alpha / comparisons * (1 + 1e-9) for n in looks], axis=1)
    claims = [
        any(family_claims(diffs[i, :, :n], alpha) for n, maybe in zip(looks, possible[i], strict=True) if maybe)
        for i in range(draws)
    ]
    return _rate(f"simulated normal, sd {sd:.2f}, a look after every pair from {first}", planned, comparisons, claims, alpha)


def _t_p(diffs: np.ndarray) -> np.ndarray:
    """The two-sided one-sample t p-value of each row of differences along the last axis."""
    n = diffs.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diffs.mean(axis=-1) / (diffs.std(axis=-1, ddof=1) / np.sqrt(n))
    return np.nan_to_num(2 * stats.t.sf(np.abs(t), n - 1), nan=1.0)  # 0 / 0: no difference at all, p 1 (as t_interval)
