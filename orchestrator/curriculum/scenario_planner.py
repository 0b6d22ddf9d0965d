"""`per_scenario`: each group's difficulty from its scenario bucket's own pass curve.

A batch mixes users the policy already serves with users it does not; one difficulty for all puts
the first at a pass rate near 1 and the second near 0, and neither kind of group teaches (GRPO
learns from groups with mixed outcomes: p(1 - p) is largest at p = 1/2, as LILO and Bae et al.
argue, and MoPPS picks prompts whose drawn pass rate is near its target). Here each group is
placed where its bucket's curve, one step ahead, crosses the band centre (a Thompson draw, see
`scenario_curves`), moving at most `max_step` from that bucket's previous level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import optuna

from orchestrator.curriculum.band_sampler import HOLDOUT, recency_decay
from orchestrator.curriculum.scenario_curves import BucketObservation, fit_bucket_curves
from orchestrator.curriculum.study_records import GROUP_BUCKETS_ATTR, GROUP_POINTS_ATTR, trials_on_record


@dataclass(frozen=True)
class ScenarioPlanner:
    target: float
    initial: float
    window: int
    max_step: float
    seed: int | None = None

    def levels(self, study: optuna.Study, buckets: list[str]) -> list[float]:
        """One difficulty per group, for groups of these buckets, from the study's record."""
        record = trials_on_record(study)
        done = [t for t in record if GROUP_BUCKETS_ATTR in t.user_attrs][-(self.window + HOLDOUT) :]
        if not done:
            return [self.initial] * len(buckets)
        steps = [[tuple(p) for p in t.user_attrs[GROUP_POINTS_ATTR]] for t in done]
        decay = recency_decay(steps, self.window, "pass_rate")
        recent = done[-self.window :]
        evidence = [
            BucketObservation(d, k, n, age=len(recent) - 1 - i, bucket=bucket)
            for i, t in enumerate(recent)
            for (d, k, n), bucket in zip(t.user_attrs[GROUP_POINTS_ATTR], t.user_attrs[GROUP_BUCKETS_ATTR], strict=True)
        ]
        rng = np.random.default_rng(None if self.seed is None else [self.seed, len(record)])
        aims = fit_bucket_curves(evidence, decay).levels(self.target, sorted(set(buckets)), rng)
        last = _last_levels(done)
        fallback = float(np.mean([d for d, _, _ in done[-1].user_attrs[GROUP_POINTS_ATTR]]))
        out = []
        for bucket in buckets:
            before = last.get(bucket, fallback)
            out.append(float(np.clip(aims[bucket], max(0.0, before - self.max_step), min(1.0, before + self.max_step))))
        return out


def _last_levels(trials: list[optuna.trial.FrozenTrial]) -> dict[str, float]:
    """Each bucket's most recent level (a bucket met in several groups of a step: their mean)."""
    last: dict[str, float] = {}
    for t in trials:
        step: dict[str, list[float]] = {}
        for (d, _, _), bucket in zip(t.user_attrs[GROUP_POINTS_ATTR], t.user_attrs[GROUP_BUCKETS_ATTR], strict=True):
            step.setdefault(bucket, []).append(d)
        last |= {bucket: float(np.mean(levels)) for bucket, levels in step.items()}
    return last
