"""How many seeds a paired comparison needs, and what it can detect with the seeds it has.

Colas et al. (2018) and Henderson et al. (2018): decide the number of seeds before running, from
a pilot's spread. For a two-sided paired t test at level alpha with n pairs whose differences have
standard deviation sd, the power against a true difference delta is that of a noncentral t with
n - 1 degrees of freedom and noncentrality delta * sqrt(n) / sd (scipy.stats.nct): no normal
approximation, which at the handful of seeds RL papers run overstates the power.

With Holm's correction over m comparisons the first test runs at alpha / m, the level planned
for here (`comparisons`): a plan for alpha alone would be too optimistic for the family.
"""

from __future__ import annotations

import math

from scipy import optimize, stats

POWER = 0.8
MAX_SEEDS = 10_000


def paired_power(effect: float, sd: float, n: int, alpha: float = 0.05, comparisons: int = 1) -> float:
    """Probability that a two-sided paired t test of n pairs rejects at alpha / comparisons when
    the true mean difference is `effect` and the differences' standard deviation is `sd`."""
    if n < 2:
        return 0.0
    if sd <= 0:
        raise ValueError(f"sd must be positive, got {sd}")
    level = alpha / comparisons
    df = n - 1
    critical = stats.t.ppf(1 - level / 2, df)
    shift = abs(effect) * math.sqrt(n) / sd
    power = float(stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift))
    if math.isnan(power):
        # scipy's noncentral t gives up far in its tail, where the answer is all or nothing
        return 1.0 if shift > critical else 0.0
    return power


def seeds_needed(effect: float, sd: float, alpha: float = 0.05, power: float = POWER, comparisons: int = 1) -> int:
    """The fewest pairs (seeds a row) that detect `effect` with the given power."""
    if effect == 0:
        raise ValueError("an effect of 0 cannot be detected: plan for the smallest difference that matters")
    for n in range(2, MAX_SEEDS + 1):
        if paired_power(effect, sd, n, alpha, comparisons) >= power:
            return n
    raise ValueError(f"more than {MAX_SEEDS} seeds would be needed for an effect of {effect} at sd {sd}")


def minimum_detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = POWER, comparisons: int = 1) -> float:
    """The smallest true difference that n pairs detect with the given power (inf below 2 pairs)."""
    if n < 2:
        return math.inf
    if sd <= 0:
        return 0.0
    high = sd
    while paired_power(high, sd, n, alpha, comparisons) < power:
        high *= 2
    return float(optimize.brentq(lambda e: paired_power(e, sd, n, alpha, comparisons) - power, 0.0, high, xtol=1e-6))
