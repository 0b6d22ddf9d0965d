import json

from orchestrator.checkpoints import STATE_FILE, load_state
from orchestrator.tracking.step_log import REDONE_TAG, STEP_KEY, StepLog, step_ranges
from tests.support.fake_training import FakeTracker


def run_steps(log: StepLog, steps: range) -> None:
    for step in steps:
        log.metrics(step, {STEP_KEY: 1.0, "reward/mean": float(step)})
        log.table(step, [], f"dialogues/step_{step:06d}.json")


def test_a_run_killed_twice_between_checkpoints_logs_every_step_once_and_says_which_were_redone():
    """Checkpoints after 2 and 5 steps; killed after logging step 3, then after step 6: each resume
    re-does the steps after its checkpoint and logs only those MLflow lacks."""
    tracker = FakeTracker()
    run_steps(StepLog(tracker), range(0, 4))
    resumed = StepLog.resuming(tracker, first_step=2)
    assert resumed.redone == {2, 3}
    run_steps(resumed, range(2, 7))
    run_steps(StepLog.resuming(tracker, first_step=5), range(5, 8))

    assert [step for step, _ in tracker.history["reward/mean"]] == list(range(8))
    assert tracker.history["reward/mean"][2:4] == [(2, 2.0), (3, 3.0)]
    assert tracker.tags[REDONE_TAG] == "2-3,5-6"
    assert tracker.tables == [f"dialogues/step_{s:06d}.json" for s in range(8)]


def test_a_resume_with_nothing_logged_past_its_checkpoint_sets_no_tag():
    tracker = FakeTracker()
    run_steps(StepLog(tracker), range(0, 3))
    assert StepLog.resuming(tracker, first_step=3).redone == frozenset()
    assert REDONE_TAG not in tracker.tags


def test_step_ranges():
    assert step_ranges([]) == ""
    assert step_ranges([4]) == "4"
    assert step_ranges([3, 4, 5, 9, 11, 12]) == "3-5,9,11-12"


def test_a_checkpoint_with_the_old_metrics_buffer_still_loads(tmp_path):
    """Checkpoints written before metrics were logged live carry an `unlogged` list."""
    checkpoint = tmp_path / "step_000002"
    checkpoint.mkdir()
    state = {"step": 2, "initial_policy": "tiny", "study_name": "s", "storage": "x", "sampler_rng": [], "unlogged": [[1, {}]]}
    (checkpoint / STATE_FILE).write_text(json.dumps(state))
    assert load_state(checkpoint).step == 2
