"""Pass rate as a function of difficulty, fitted from recent steps: the math behind `band`.

Model: p(d, t) = sigmoid(a + c*t - b*d), b > 0 (harder, fewer passes), c the drift of the policy's
skill per step (t = -age, so the fitted curve is the current one and a + c predicts the next
step's). Each observation is a group (or a whole step) at difficulty d with k passes out of n
episodes, weighted by recency (decay^age). The policy improves every step, so evidence about
where the band lies goes stale: the trend term and the recency weights are how `band` handles the
drift that Optuna's stationary samplers ignore.

The fit is a weighted maximum likelihood with a weak Gaussian prior on (a, b, c), solved by Fisher
scoring; the prior keeps it defined when every point sits at one difficulty. What a group tells
the fit is the `signal`: its pass count (binomial), or under `informative_frac` only whether its
outcomes were mixed, which happens with probability 1 - p^n - (1-p)^n - the signal GRPO learns
from, but blind to which side of p = 0.5 a group lies (the prior's b > 0 breaks that tie).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Signal = Literal["pass_rate", "informative_frac"]

PRIOR_MEAN = np.array([1.5, 3.0, 0.0])
"""a = 1.5, b = 3: a pass rate of ~0.82 at d = 0 falling to ~0.18 at d = 1, a vague starting
belief; no drift until the data show one."""
PRIOR_PRECISION = np.array([0.05, 0.05, 25.0])
MIN_SLOPE = 0.25
JITTER_NODES = (2 * np.arange(32) + 1) / 32 - 1
"""Midpoints of 32 equal slices of [-1, 1]: the quadrature of a uniformly jittered batch."""
MAX_SCORING_STEP = 2.0
"""Largest change of a parameter per scoring iteration: the informative likelihood is not
log-concave, and a full step from a flat start can overshoot into the mirror solution."""


@dataclass(frozen=True)
class Observation:
    difficulty: float
    passes: float
    episodes: float
    age: int
    """Steps ago (0 = the latest step)."""


@dataclass(frozen=True)
class PassCurve:
    a: float
    b: float
    slope_sd: float
    """Posterior sd of b (Laplace): large means the data do not pin the curve down."""
    drift: float = 0.0
    """c: change of the logit per step; `ahead` steps of it are added when predicting."""

    def _rates(self, levels: np.ndarray, ahead: int) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a + self.drift * ahead - self.b * levels)))

    def pass_rate(self, difficulty: float, ahead: int = 0) -> float:
        return float(self._rates(np.asarray(difficulty, dtype=float), ahead))

    def batch_pass_rate(self, centre: float, spread: float, ahead: int = 0) -> float:
        """Expected pass rate of a batch proposed at `centre` whose groups are jittered by
        `curriculum.spread` (uniform in +-spread, clipped to [0, 1], as the driver draws them)."""
        return float(np.mean(self._rates(np.clip(centre + spread * JITTER_NODES, 0.0, 1.0), ahead)))

    def difficulty_for(self, target: float, ahead: int = 0, spread: float = 0.0) -> float:
        """Where the fitted curve, `ahead` steps on, crosses `target` (unclamped without jitter).
        With jitter the batch averages the curve over nearby levels, so the centre that puts the
        batch on target differs from the level that does wherever the curve bends - most at a
        cliff, where only a jittered batch can sit halfway down; it is found by bisection in [0, 1]."""
        if spread == 0.0:
            logit = math.log(target / (1.0 - target))
            return (self.a + self.drift * ahead - logit) / max(self.b, MIN_SLOPE)
        low, high = 0.0, 1.0
        for _ in range(40):
            mid = (low + high) / 2
            low, high = (mid, high) if self.batch_pass_rate(mid, spread, ahead) > target else (low, mid)
        return (low + high) / 2


def informative_fraction(pass_rate: float | np.ndarray, group_size: float | np.ndarray) -> float | np.ndarray:
    """Chance that a group of `group_size` episodes has mixed outcomes (non-zero advantage)."""
    return 1.0 - pass_rate**group_size - (1.0 - pass_rate) ** group_size


def _mean_and_weights(signal: Signal, p: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The expected observation, the score's gain on a residual (d mean / d logit over the
    variance) and the Fisher weight ((d mean / d logit)^2 over the variance). Pass counts use the
    canonical link, where the gain is exactly 1: no 0/0 once a fitted rate saturates."""
    if signal == "pass_rate":
        return n * p, np.ones_like(p), n * p * (1 - p)
    q = informative_fraction(p, n)
    dq = p * (1 - p) * n * ((1 - p) ** (n - 1) - p ** (n - 1))
    var = np.maximum(q * (1 - q), 1e-12)
    return q, dq / var, dq**2 / var


def fit_pass_curve(observations: Sequence[Observation], decay: float, signal: Signal = "pass_rate") -> PassCurve:
    """Weighted, regularised logistic fit; `decay` in (0, 1] is the per-step recency factor."""
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must lie in (0, 1], got {decay}")
    return _fit(tuple(observations), decay, signal)


@functools.lru_cache(maxsize=1024)
def _fit(observations: tuple[Observation, ...], decay: float, signal: Signal) -> PassCurve:
    """Memoised: `choose_decay` refits the same windows of history at every step (all but one of
    its holdout forecasts were made, identically, a step earlier)."""
    d = np.array([o.difficulty for o in observations], dtype=float)
    k = np.array([o.passes for o in observations], dtype=float)
    n = np.array([o.episodes for o in observations], dtype=float)
    w = np.array([decay**o.age for o in observations], dtype=float)
    age = np.array([o.age for o in observations], dtype=float)
    y = k if signal == "pass_rate" else ((k > 0) & (k < n)).astype(float)
    x = np.stack([np.ones_like(d), -d, -age], axis=1)
    theta, covariance = fisher_fit(x, y, n, w, PRIOR_MEAN, PRIOR_PRECISION, signal)
    return PassCurve(a=float(theta[0]), b=float(theta[1]), slope_sd=float(math.sqrt(covariance[1, 1])), drift=float(theta[2]))


def fisher_fit(
    x: np.ndarray,
    y: np.ndarray,
    n: np.ndarray,
    w: np.ndarray,
    prior_mean: np.ndarray,
    prior_precision: np.ndarray,
    signal: Signal = "pass_rate",
) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mode and its Laplace covariance of a logistic model logit p = x @ theta,
    each row weighted by `w`, under a Gaussian prior with a diagonal precision: Fisher scoring,
    its steps clipped (the informative likelihood is not log-concave)."""
    theta = prior_mean.copy()
    information = np.diag(prior_precision)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        mean, gain, fisher = _mean_and_weights(signal, p, n)
        score = x.T @ (w * (y - mean) * gain) - prior_precision * (theta - prior_mean)
        information = (x.T * (w * fisher)) @ x + np.diag(prior_precision)
        step = np.clip(np.linalg.solve(information, score), -MAX_SCORING_STEP, MAX_SCORING_STEP)
        theta = theta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta, np.linalg.inv(information)


Point = tuple[float, float, float]
"""One group of a step: (difficulty, passes, episodes)."""

DECAYS = (0.5, 0.7, 0.85, 0.95, 1.0)
"""The memories `choose_decay` picks from: from a policy that jumps between steps to one that
drifts smoothly."""


def observations(steps: list[list[Point]]) -> list[Observation]:
    """The groups of consecutive steps (oldest first), aged from the last."""
    return [Observation(d, k, n, age=len(steps) - 1 - i) for i, points in enumerate(steps) for d, k, n in points]


def predictive_log_likelihood(steps: list[list[Point]], decay: float, window: int, holdout: int, signal: Signal) -> float:
    """How well fits with this `decay` foresaw the last `holdout` steps: each step's groups scored
    under the curve fitted to the `window` steps before it, one step ahead - exactly the forecast
    `band` aims by."""
    total = 0.0
    for j in range(max(1, len(steps) - holdout), len(steps)):
        curve = fit_pass_curve(observations(steps[max(0, j - window) : j]), decay, signal)
        for d, k, n in steps[j]:
            p = min(max(curve.pass_rate(d, ahead=1), 1e-6), 1 - 1e-6)
            if signal == "pass_rate":
                total += k * math.log(p) + (n - k) * math.log(1 - p)
            else:
                q = min(max(float(informative_fraction(p, n)), 1e-6), 1 - 1e-6)
                total += math.log(q) if 0 < k < n else math.log(1 - q)
    return total


def choose_decay(steps: list[list[Point]], window: int, holdout: int, signal: Signal) -> float:
    """The recency weight whose past forecasts were best. A policy whose pass rate swings from step
    to step (a real one at a high learning rate) wants a short memory, one that drifts smoothly a
    long one; neither is known in advance, and the best memory changes as training goes on."""
    return max(DECAYS, key=lambda decay: predictive_log_likelihood(steps, decay, window, holdout, signal))


def band_distance(pass_rate: float, low: float, high: float) -> float:
    """The controller's objective: how far the batch pass rate lies outside the band (0 inside)."""
    return max(0.0, low - pass_rate, pass_rate - high)


def sampling_noise_var(group_pass_rates: list[float]) -> float:
    """sigma-hat^2 = (variance of the group pass rates) / (number of groups): how far from the
    band centre a batch lands by sampling alone, even at a perfectly aimed difficulty."""
    g = len(group_pass_rates)
    if g < 2:
        return 0.0
    return float(np.var(group_pass_rates, ddof=1)) / g


def adarft_step(difficulty: float, pass_rate: float, target: float, eta: float, alpha: float) -> float:
    """AdaRFT (arXiv 2504.05520) on a [0, 1] scale: d' = clip(d + eta * tanh(alpha * (R - beta)), 0, 1)."""
    return min(1.0, max(0.0, difficulty + eta * math.tanh(alpha * (pass_rate - target))))


def tracking_ratio(pass_rates: list[float], noise_vars: list[float], centre: float) -> float:
    """R = mean((p-hat - c)^2) / mean(sigma-hat^2): ~1 when only sampling noise keeps the batch off
    the band centre, more for every error of aim."""
    noise = float(np.mean(noise_vars))
    if noise <= 0:
        raise ValueError("tracking ratio needs a positive sampling noise (groups with mixed outcomes)")
    return float(np.mean([(p - centre) ** 2 for p in pass_rates])) / noise
