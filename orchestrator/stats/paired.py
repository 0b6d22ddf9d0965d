"""Paired differences between two rows of runs that share their seeds (and warm starts).

Three views of one set of differences, each with its reason:

* **Student t** (interval and p): the interval every verdict shows. At the 5-20 seeds RL
  experiments run, the percentile bootstrap this replaces is about mean +- 1.75 s / sqrt(n) at
  n = 5, ~63 % of the t interval's width, and covered 83-90 % instead of 95 % (tests/unit/
  orchestrator/stats measure both).
* **Exact sign flips** (p and interval): under the null hypothesis that the two rows are the
  same procedure, each pair's difference is as likely to carry either sign, so the 2^n sign
  patterns are equally likely; the p-value counts the patterns whose mean is at least as far
  from 0 as the observed one, enumerated exactly up to `EXACT_MAX_PAIRS` pairs (sampled past
  that). The interval is the set of shifts the test does not reject. It needs no normality, and
  it says plainly what few seeds can do: at n = 5 no p is below 0.0625 and the 95 % interval is
  unbounded.
* **BCa bootstrap** only from `BCA_MIN_PAIRS` pairs on: its bias and acceleration corrections are
  estimated from the sample itself. Simulated on normal differences its 95 % interval covered
  0.88 at 8 pairs, 0.92 at 20 and 30, 0.93 at 50 and 0.94 at 80 (t3 tails: 0.88 at 20, 0.92
  at 50), so below 50 it is not given, and it never carries a verdict (the tests measure it).

And TOST (Schuirmann 1987): two one-sided t tests against +-margin, so a tie is claimed only
where the data show the difference is inside the margin, never from an interval that merely
contains 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
EXACT_MAX_PAIRS = 40
RANDOM_PATTERNS = 20_000
BCA_MIN_PAIRS = 50
BCA_RESAMPLES = 10_000


@dataclass(frozen=True)
class PairedTest:
    """Everything one paired comparison supports, as plain numbers (JSON-ready)."""

    pairs: int
    mean: float
    sd: float
    t_low: float
    t_high: float
    t_p: float
    exact_p: float
    exact_low: float
    exact_high: float
    exact_method: str
    bca_low: float | None
    bca_high: float | None
    bca_note: str
    tost_p: float | None
    margin: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def differences(values: Sequence[float], reference: Sequence[float]) -> np.ndarray:
    a, b = np.asarray(values, dtype=float), np.asarray(reference, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a paired difference needs one value per pair on both sides, got {a.shape} and {b.shape}")
    return a - b


def t_interval(d: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Student t interval of the mean difference and the two-sided p of 'mean = 0'."""
    n, mean = len(d), float(np.mean(d))
    if n < 2:
        return -math.inf, math.inf, 1.0
    se = float(np.std(d, ddof=1)) / math.sqrt(n)
    if se == 0:
        return mean, mean, 1.0 if mean == 0 else 0.0
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    p = float(2 * stats.t.sf(abs(mean) / se, n - 1))
    return mean - half, mean + half, p


def _signed_sums(x: np.ndarray) -> np.ndarray:
    """All 2^len(x) sums of +-x_i."""
    sums = np.zeros(1)
    for value in x:
        sums = np.concatenate([sums + value, sums - value])
    return sums


@cache
def _random_patterns(n: int, seed: int) -> np.ndarray:
    """The same sampled sign patterns for every shift an interval tries (common random numbers)."""
    return np.random.default_rng(seed).choice((1.0, -1.0), size=(RANDOM_PATTERNS, n))


def _sign_flip_p(d: np.ndarray, rng_seed: int) -> float:
    """Share of sign patterns s with |sum(s * d)| >= |sum(d)|. Exact up to `EXACT_MAX_PAIRS`
    by meeting in the middle: the sums of each half's patterns, one half sorted, so 2^n patterns
    cost 2^(n/2) searches."""
    observed = abs(float(np.sum(d)))
    if observed == 0:
        return 1.0
    tolerance = 1e-9 * max(1.0, float(np.sum(np.abs(d))))
    n = len(d)
    if n > EXACT_MAX_PAIRS:
        patterns = _random_patterns(n, rng_seed)
        extreme = int(np.sum(np.abs(patterns @ d) >= observed - tolerance))
        return (extreme + 1) / (RANDOM_PATTERNS + 1)
    left = _signed_sums(d[: n // 2])
    right = np.sort(_signed_sums(d[n // 2 :]))
    high = len(right) - np.searchsorted(right, observed - left - tolerance, side="left")
    low = np.searchsorted(right, -observed - left + tolerance, side="right")
    return float(np.sum(high + low)) / 2.0**n


def sign_flip_p(d: np.ndarray, seed: int = 0) -> tuple[float, str]:
    """Two-sided p of the sign-flip test with the mean as its statistic (the identity pattern
    counts, so p >= 2 / 2^n), and whether it was enumerated or sampled."""
    d = np.asarray(d, dtype=float)
    method = "exact" if len(d) <= EXACT_MAX_PAIRS else f"monte carlo ({RANDOM_PATTERNS} patterns)"
    return (_sign_flip_p(d, seed) if len(d) else 1.0), method


def sign_flip_interval(d: np.ndarray, confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    """The shifts the sign-flip test does not reject: {delta : p(d - delta) > 1 - confidence},
    its bounds found by bisection. Unbounded where even the most extreme pattern is not rare
    enough (2 / 2^n >= 1 - confidence: n <= 5 at 95 %)."""
    d = np.asarray(d, dtype=float)
    alpha = 1 - confidence
    if len(d) < 2 or 2.0 / 2.0 ** len(d) >= alpha:
        return -math.inf, math.inf
    centre = float(np.mean(d))
    reach = 10.0 * (float(np.ptp(d)) + 1.0)

    def bound(outside: float) -> float:
        inside = centre
        for _ in range(60):
            middle = (inside + outside) / 2
            if _sign_flip_p(d - middle, seed) > alpha:
                inside = middle
            else:
                outside = middle
        return inside

    return bound(centre - reach), bound(centre + reach)


def bca_interval(d: np.ndarray, confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float | None, float | None, str]:
    if len(d) < BCA_MIN_PAIRS:
        return None, None, f"not computed below {BCA_MIN_PAIRS} pairs: BCa's corrections are too noisy there to keep its level"
    if np.ptp(d) == 0:
        return float(d[0]), float(d[0]), "all differences equal"
    result = stats.bootstrap(
        (d,), np.mean, confidence_level=confidence, n_resamples=BCA_RESAMPLES, method="BCa", rng=np.random.default_rng(seed)
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high), "BCa bootstrap of the mean"


def tost_p(d: np.ndarray, margin: float) -> float:
    """p of TOST: the larger of the one-sided t tests of 'mean <= -margin' and 'mean >= margin'.
    Below alpha, the difference is shown to lie within +-margin (the 1 - 2 alpha t interval
    lies inside it)."""
    if margin <= 0:
        raise ValueError(f"an equivalence margin must be positive, got {margin}")
    n, mean = len(d), float(np.mean(d))
    if n < 2:
        return 1.0
    se = float(np.std(d, ddof=1)) / math.sqrt(n)
    if se == 0:
        return 0.0 if abs(mean) < margin else 1.0
    above_lower = float(stats.t.sf((mean + margin) / se, n - 1))
    below_upper = float(stats.t.cdf((mean - margin) / se, n - 1))
    return max(above_lower, below_upper)


def paired_test(
    values: Sequence[float],
    reference: Sequence[float],
    margin: float | None = None,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> PairedTest:
    """values[i] - reference[i] over pairs i: the t, exact and (from 20 pairs) BCa views, and TOST
    against `margin` when one is given."""
    d = differences(values, reference)
    if len(d) == 0:
        raise ValueError("a paired comparison needs at least one pair")
    t_low, t_high, t_p = t_interval(d, confidence)
    exact_p, method = sign_flip_p(d, seed)
    exact_low, exact_high = sign_flip_interval(d, confidence, seed)
    bca_low, bca_high, note = bca_interval(d, confidence, seed)
    return PairedTest(
        pairs=len(d),
        mean=float(np.mean(d)),
        sd=float(np.std(d, ddof=1)) if len(d) > 1 else math.nan,
        t_low=t_low,
        t_high=t_high,
        t_p=t_p,
        exact_p=exact_p,
        exact_low=exact_low,
        exact_high=exact_high,
        exact_method=method,
        bca_low=bca_low,
        bca_high=bca_high,
        bca_note=note,
        tost_p=tost_p(d, margin) if margin is not None else None,
        margin=margin,
    )
