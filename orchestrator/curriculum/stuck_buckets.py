"""A guard against a scenario bucket the policy can never pass for a reason that is not difficulty.

A grader or format bug that fails one kind of scenario every time looks, to a pass-rate
controller, like a level that is too hard; a per-bucket controller then starves that bucket
(marin-community/marin #8765). Difficulty alone rarely explains a bucket whose groups all fail
while another bucket's groups pass at the same level or a harder one, step after step, so such a
bucket is flagged: logged as `curriculum/stuck_buckets` and warned about once, by name.

A step counts against a bucket only when the bucket's groups passed no episode and some other
bucket's group passed at a level no easier than the bucket's easiest; a pass clears its count;
a step that says neither (the bucket absent, or nothing passed where it could be compared) leaves
the count as it was. The counts start afresh on a resume.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from orchestrator.curriculum.controllers import BatchStats


@dataclass
class StuckBuckets:
    patience: int
    """Steps in a row that count against a bucket before it is stuck."""
    zero_steps: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stuck: set[str] = field(default_factory=set)
    warned: set[str] = field(default_factory=set)

    def observe(self, stats: BatchStats) -> list[str]:
        """Count this step's evidence; the buckets stuck now that were never warned about."""
        if not stats.group_buckets:
            return []
        levels: dict[str, list[float]] = defaultdict(list)
        passes: dict[str, int] = defaultdict(int)
        for bucket, level, passed in zip(stats.group_buckets, stats.group_difficulties, stats.group_passes, strict=True):
            levels[bucket].append(level)
            passes[bucket] += passed
        newly = []
        for bucket in levels:
            if passes[bucket]:
                self.zero_steps[bucket] = 0
                self.stuck.discard(bucket)
                continue
            easiest = min(levels[bucket])
            passed_elsewhere = any(
                passed and level >= easiest and other != bucket
                for other, level, passed in zip(stats.group_buckets, stats.group_difficulties, stats.group_passes, strict=True)
            )
            if not passed_elsewhere:
                continue
            self.zero_steps[bucket] += 1
            if self.zero_steps[bucket] >= self.patience:
                self.stuck.add(bucket)
                if bucket not in self.warned:
                    self.warned.add(bucket)
                    newly.append(bucket)
        return newly

    def warning(self, bucket: str) -> str:
        return (
            f"scenario bucket {bucket!r} passed no episode in {self.zero_steps[bucket]} steps while other buckets passed "
            "at the same difficulty or harder: a grader or format problem, not difficulty, is the likelier cause "
            "(curriculum/stuck_buckets; curriculum.stuck_after sets the patience)"
        )
