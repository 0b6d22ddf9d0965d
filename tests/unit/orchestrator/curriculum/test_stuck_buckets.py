from orchestrator.curriculum.controllers import BatchStats
from orchestrator.curriculum.stuck_buckets import StuckBuckets


def step(groups: list[tuple[str, float, int]]) -> BatchStats:
    """(bucket, level, passes) per group of 4 episodes."""
    buckets, levels, passes = zip(*groups, strict=True)
    return BatchStats(
        pass_rate=sum(passes) / (4 * len(groups)),
        informative_group_frac=0.0,
        reward_mean=0.0,
        group_difficulties=levels,
        group_passes=passes,
        group_size=4,
        group_buckets=buckets,
    )


def test_a_bucket_that_fails_where_others_pass_at_its_level_or_harder_is_stuck_and_named_once():
    guard = StuckBuckets(patience=3)
    batch = step([("anxious", 0.5, 0), ("calm", 0.5, 2), ("calm", 0.7, 1)])
    assert guard.observe(batch) == [] and guard.observe(batch) == []
    assert guard.observe(batch) == ["anxious"] and guard.stuck == {"anxious"}
    assert guard.observe(batch) == [] and guard.stuck == {"anxious"}
    assert "'anxious' passed no episode in 4 steps" in guard.warning("anxious")


def test_failing_only_where_it_is_harder_than_every_pass_is_difficulty_not_a_bug():
    guard = StuckBuckets(patience=2)
    for _ in range(5):
        assert guard.observe(step([("anxious", 0.9, 0), ("calm", 0.5, 3)])) == []
    assert guard.stuck == set()


def test_a_pass_clears_the_count_and_steps_without_evidence_leave_it():
    guard = StuckBuckets(patience=3)
    fails = step([("anxious", 0.5, 0), ("calm", 0.5, 2)])
    guard.observe(fails)
    guard.observe(fails)
    guard.observe(step([("anxious", 0.5, 1), ("calm", 0.5, 2)]))
    guard.observe(fails)
    guard.observe(step([("calm", 0.5, 2)]))  # absent
    guard.observe(step([("anxious", 0.5, 0), ("calm", 0.5, 0)]))  # nothing passed: says nothing
    assert guard.zero_steps["anxious"] == 1 and guard.stuck == set()
    guard.observe(fails)
    assert guard.observe(fails) == ["anxious"]
    guard.observe(step([("anxious", 0.5, 1), ("calm", 0.5, 2)]))
    assert guard.stuck == set()
    for _ in range(3):
        assert guard.observe(fails) == []  # warned once already
    assert guard.stuck == {"anxious"}


def test_a_step_without_buckets_is_not_evidence():
    guard = StuckBuckets(patience=1)
    stats = BatchStats(0.5, 0.0, 0.0, (0.5,), (2,), 4)
    assert guard.observe(stats) == [] and guard.stuck == set()
