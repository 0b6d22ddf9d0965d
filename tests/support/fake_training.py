"""Plain-Python stand-ins for what a training step talks to (the rollout pool, the learner, the
controller, MLflow), for tests of `Trainer.step` without Ray. Each records what it was asked, in
one shared `events` list, so a test reads the step's order of phases."""

from __future__ import annotations

import random
from pathlib import Path

from orchestrator.cluster.learner_group import PendingCall
from orchestrator.cluster.rollout_pool import PendingRollout, RolloutCost, WorkersLost
from orchestrator.curriculum.controllers import Proposal
from workers.learner_precision import PrecisionChoice
from workers.types import Episode, EpisodeRequest, TokenSequence, WeightSnapshot


class FakeTracker:
    """Holds logged metrics per key, tags, params and tables as an MLflow run would."""

    run_id = "fake"

    def __init__(self):
        self.history: dict[str, list[tuple[int, float]]] = {}
        self.tags: dict[str, str] = {}
        self.params: dict[str, object] = {}
        self.tables: list[str] = []
        self.logged_steps: list[int] = []

    def log_metrics(self, metrics, step):
        self.logged_steps.append(step)
        for key, value in metrics.items():
            self.history.setdefault(key, []).append((step, value))

    def metric_history(self, key):
        return list(self.history.get(key, []))

    def log_table(self, rows, artifact_file):
        self.tables.append(artifact_file)

    def set_tags(self, tags):
        self.tags |= tags

    def log_params(self, params):
        self.params |= params

    def tag(self, key):
        return self.tags.get(key)


def episode_for(request: EpisodeRequest) -> Episode:
    """A dialogue whose outcome is a function of its request's seed alone: half pass."""
    final = random.Random(request.seed).choice([20.0, 40.0, 75.0, 90.0])
    return Episode(
        scenario_id=request.scenario.id,
        intent=request.scenario.intent,
        group=request.group,
        difficulty=request.difficulty,
        sequences=[TokenSequence([1, 2, 3, 4], [0, 1, 1, 0], [0.0, -0.5, -0.2, 0.0])],
        emotions=[40.0, final],
        labels=["listen"],
        transcript=[("user", "hi"), ("agent", "yo")],
        passed=final >= 70.0,
    )


class FakePool:
    """The rollout pool's interface: episodes at once, every submit and load recorded. The
    collection numbered `lost_at` (from 0) finds its worker lost for good."""

    def __init__(self, events: list, lost_at: int | None = None):
        self.events = events
        self.lost_at = lost_at
        self.collections = 0
        self.restarts = 0
        self.loaded_version = 0
        self.weights = None
        self.submitted: list[tuple[int, list[EpisodeRequest]]] = []

    def submit(self, requests: list[EpisodeRequest]) -> PendingRollout:
        self.events.append(("submit", self.loaded_version))
        self.submitted.append((self.loaded_version, list(requests)))
        return PendingRollout(self.loaded_version, {0: list(requests)}, {})

    def collect(self, pending: PendingRollout) -> tuple[list[Episode], RolloutCost]:
        assert pending.version == self.loaded_version, "a rollout collected after a sync to other weights"
        self.collections += 1
        if self.collections - 1 == self.lost_at:
            raise WorkersLost("rollout worker 0 died and its restarts are used up")
        self.events.append(("collect", pending.version))
        return [episode_for(r) for r in pending.shards[0]], RolloutCost(generate_s=0.5, simulate_s=0.25)

    def rollout(self, requests: list[EpisodeRequest]) -> tuple[list[Episode], RolloutCost]:
        self.events.append(("eval", self.loaded_version))
        return [episode_for(r) for r in requests], RolloutCost()

    def load(self, weights: WeightSnapshot, version: int) -> None:
        assert weights.version == version, "the learner's snapshot is not the version counted"
        self.events.append(("load", version))
        self.weights, self.loaded_version = weights, version


class FakeLearner:
    """The learner group's interface: updates count versions as the real learner's do."""

    size = 1

    def __init__(self, events: list, version: int = 0):
        self.events = events
        self.version = version
        self.saved: list[str] = []

    def submit_update(self, batch) -> PendingCall:
        self.events.append(("update", len(batch)))
        self.version += 1
        update = {
            "actor/entropy": 1.0 + self.version / 10,
            "actor/pg_loss": 0.0,
            "faults/skipped_update": 0.0,
            "perf/update_s": 0.1,
            **{f"perf/learner_{part}_s": 0.01 for part in ("forward", "backward", "optimizer")},
        }
        return PendingCall("update", [update])

    def request_weights(self, dtype: str) -> tuple[WeightSnapshot, PendingCall]:
        self.events.append(("snapshot", self.version))
        return WeightSnapshot(self.version, {}), PendingCall("weights", [1234])

    def result(self, call: PendingCall):
        return call.refs[0]

    def call(self, method: str):
        assert method == "precision_choice"
        return PrecisionChoice("fp32", "fake")

    def save(self, path: str) -> None:
        Path(path).mkdir(parents=True)
        self.saved.append(path)


class FakeController:
    """Proposes a difficulty from the step alone and records the entropy each proposal saw."""

    def __init__(self, events: list):
        self.events = events
        self.entropy_seen: dict[int, float | None] = {}

    def propose(self, step: int, entropy: float | None, buckets) -> Proposal:
        self.events.append(("propose", step))
        self.entropy_seen[step] = entropy
        return Proposal(0.1 + step / 100)

    def observe(self, step: int, difficulty: float, stats) -> None:
        self.events.append(("observe", step))
