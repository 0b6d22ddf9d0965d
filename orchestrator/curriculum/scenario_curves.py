"""Pass rate as a function of difficulty per scenario bucket: the math behind `per_scenario`.

Model: logit p(d, t, j) = a + u_j + c*t - b*d for bucket j (`curriculum.bucket_by`: personality,
or need x personality), with the shared slope b and drift c of `pass_curve` and a bucket offset
u_j drawn from N(0, BUCKET_SD^2).
The prior pools the buckets: a bucket seen in a few groups sits near the common curve, one seen
often gets its own level. The prior-precision-weighted fit is `pass_curve.fisher_fit`'s; a draw
from its Laplace posterior (Thompson sampling, as MoPPS draws each prompt's pass rate from its
Beta posterior) picks each bucket's difficulty, so a bucket whose curve is uncertain is tried on
both sides of its estimate instead of being parked on a guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orchestrator.curriculum.pass_curve import MIN_SLOPE, PRIOR_MEAN, PRIOR_PRECISION, fisher_fit

BUCKET_SD = 1.0
"""Prior sd of a bucket's logit offset: buckets of the rule environment differ by up to ~2 in
logit at one difficulty (a need the policy has learnt against one it has not)."""


@dataclass(frozen=True)
class BucketObservation:
    difficulty: float
    passes: float
    episodes: float
    age: int
    bucket: str


@dataclass(frozen=True)
class BucketCurves:
    buckets: tuple[str, ...]
    theta: np.ndarray
    """(a, b, c, u_1 .. u_B)."""
    covariance: np.ndarray

    def levels(
        self, target: float, buckets: list[str], rng: np.random.Generator | None = None, ahead: int = 1
    ) -> dict[str, float]:
        """Each bucket's difficulty whose predicted pass rate, `ahead` steps on, is `target`
        (unclamped), under the posterior mode or, given `rng`, one draw from the posterior. A
        bucket the fit has not seen gets the prior's offset: 0 at the mode, a draw from it else."""
        theta = self.theta if rng is None else rng.multivariate_normal(self.theta, self.covariance)
        a, b, c = theta[:3]
        offsets = dict(zip(self.buckets, theta[3:], strict=True))
        logit = math.log(target / (1.0 - target))
        out = {}
        for bucket in buckets:
            u = offsets.get(bucket, 0.0 if rng is None else rng.normal(0.0, BUCKET_SD))
            out[bucket] = float((a + u + c * ahead - logit) / max(b, MIN_SLOPE))
        return out

    def pass_rate(self, bucket: str, difficulty: float, ahead: int = 0) -> float:
        a, b, c = self.theta[:3]
        u = self.theta[3 + self.buckets.index(bucket)]
        return 1.0 / (1.0 + math.exp(-(a + u + c * ahead - b * difficulty)))


def fit_bucket_curves(observations: Sequence[BucketObservation], decay: float) -> BucketCurves:
    """Weighted, regularised logistic fit of every bucket's curve at once; `decay` in (0, 1] is
    the per-step recency factor, as in `fit_pass_curve`."""
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must lie in (0, 1], got {decay}")
    buckets = tuple(sorted({o.bucket for o in observations}))
    column = {bucket: i for i, bucket in enumerate(buckets)}
    d = np.array([o.difficulty for o in observations], dtype=float)
    age = np.array([o.age for o in observations], dtype=float)
    one_hot = np.zeros((len(observations), len(buckets)))
    one_hot[np.arange(len(observations)), [column[o.bucket] for o in observations]] = 1.0
    x = np.concatenate([np.stack([np.ones_like(d), -d, -age], axis=1), one_hot], axis=1)
    prior_mean = np.concatenate([PRIOR_MEAN, np.zeros(len(buckets))])
    prior_precision = np.concatenate([PRIOR_PRECISION, np.full(len(buckets), 1.0 / BUCKET_SD**2)])
    theta, covariance = fisher_fit(
        x,
        np.array([o.passes for o in observations], dtype=float),
        np.array([o.episodes for o in observations], dtype=float),
        np.array([decay**o.age for o in observations], dtype=float),
        prior_mean,
        prior_precision,
    )
    return BucketCurves(buckets, theta, covariance)
