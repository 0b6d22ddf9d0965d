import json
import math

from orchestrator.checkpoints import STATE_FILE, TrainerState, load_state
from orchestrator.tracking.mlflow_tracker import log_missing_steps


class FakeTracker:
    """Holds logged metrics per key as MLflow's history would."""

    run_id = "fake"

    def __init__(self):
        self.history: dict[str, list[tuple[int, float]]] = {}
        self.batches: list[int] = []

    def log_metrics(self, metrics, step):
        self.batches.append(step)
        for key, value in metrics.items():
            self.history.setdefault(key, []).append((step, value))

    def metric_history(self, key):
        return list(self.history.get(key, []))


def test_a_kill_between_checkpoint_and_logging_loses_no_step_and_logs_none_twice(tmp_path):
    """The driver writes a checkpoint, then logs the steps it finishes; killed after logging step 2
    of 2..3, the resumed run logs step 3 from the checkpoint and nothing else, however often it
    resumes."""
    records = [[2, {"reward/mean": 0.5, "eval/0.8/score": 12.0}], [3, {"reward/mean": math.nan}]]
    checkpoint = tmp_path / "step_000004"
    checkpoint.mkdir()
    state = TrainerState(4, "tiny", "s", "sqlite:///x", [3, [0], None], unlogged=records)
    (checkpoint / STATE_FILE).write_text(json.dumps(state.__dict__))
    tracker = FakeTracker()
    tracker.log_metrics({"reward/mean": 0.1}, 1)
    tracker.log_metrics(dict(records[0][1]), 2)

    restored = load_state(checkpoint).unlogged
    assert log_missing_steps(tracker, restored) == [3]
    assert log_missing_steps(tracker, restored) == []
    assert [step for step, _ in tracker.history["reward/mean"]] == [1, 2, 3]
    assert tracker.history["eval/0.8/score"] == [(2, 12.0)]


def test_a_checkpoint_from_before_the_field_resumes_with_nothing_to_log(tmp_path):
    checkpoint = tmp_path / "step_000002"
    checkpoint.mkdir()
    (checkpoint / STATE_FILE).write_text(
        json.dumps({"step": 2, "initial_policy": "tiny", "study_name": "s", "storage": "x", "sampler_rng": []})
    )
    tracker = FakeTracker()
    assert log_missing_steps(tracker, load_state(checkpoint).unlogged) == []
    assert tracker.batches == []
