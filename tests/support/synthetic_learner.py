"""A synthetic learner for testing controllers without a model: a pass curve that drifts as the
policy "learns", sampled in groups like real training.

Scenario s at difficulty d passes with probability sigmoid(skill + offset_s - slope * d); the
per-scenario offsets make groups heterogeneous (as real scenarios are): drawn afresh for every
group, or fixed per scenario bucket (`bucket_offsets`, for per-scenario controllers), each group
then meeting a bucket drawn at random. Skill grows each step
in proportion to the share of informative groups, so a controller that keeps batches in the
medium band also makes this learner learn faster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from orchestrator.curriculum.controllers import BatchStats, StudyController


@dataclass
class SyntheticLearner:
    skill: float = 1.0
    slope: float = 6.0
    rate: float = 0.08
    groups: int = 12
    group_size: int = 8
    heterogeneity: float = 0.7
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    bucket_offsets: dict[str, float] | None = None

    def true_pass_rate(self, difficulty: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.skill - self.slope * difficulty)))

    def draw_buckets(self) -> tuple[str, ...]:
        """The next step's groups' buckets (one anonymous bucket without `bucket_offsets`)."""
        if not self.bucket_offsets:
            return ("any",) * self.groups
        return tuple(str(b) for b in self.rng.choice(sorted(self.bucket_offsets), self.groups))

    def bucket_pass_rate(self, bucket: str, difficulty: float) -> float:
        assert self.bucket_offsets is not None
        return 1.0 / (1.0 + math.exp(-(self.skill + self.bucket_offsets[bucket] - self.slope * difficulty)))

    def step(self, difficulty: float | list[float], buckets: tuple[str, ...] = ()) -> BatchStats:
        """One batch at one level for all groups, or at each group's own (`Proposal.levels`)."""
        levels = np.array(difficulty) if isinstance(difficulty, list) else np.full(self.groups, difficulty)
        if self.bucket_offsets:
            offsets = np.array([self.bucket_offsets[b] for b in buckets])
        else:
            offsets = self.rng.normal(0.0, self.heterogeneity, self.groups)
        p = 1.0 / (1.0 + np.exp(-(self.skill + offsets - self.slope * levels)))
        passes = self.rng.binomial(self.group_size, p)
        informative = float(np.mean((passes > 0) & (passes < self.group_size)))
        self.skill += self.rate * informative
        return BatchStats(
            pass_rate=float(passes.sum() / (self.groups * self.group_size)),
            informative_group_frac=informative,
            reward_mean=float(passes.mean() / self.group_size),
            group_difficulties=tuple(float(x) for x in levels),
            group_passes=tuple(int(k) for k in passes),
            group_size=self.group_size,
            group_buckets=buckets,
        )


@dataclass(frozen=True)
class Trace:
    difficulties: list[float]
    stats: list[BatchStats]


def drive(controller: StudyController, learner: SyntheticLearner, steps: int) -> Trace:
    difficulties, stats = [], []
    for step in range(steps):
        buckets = learner.draw_buckets()
        proposal = controller.propose(step, buckets=buckets)
        d = proposal.difficulty
        s = learner.step(proposal.levels, buckets)
        controller.observe(step, d, s)
        difficulties.append(d)
        stats.append(s)
    return Trace(difficulties, stats)
