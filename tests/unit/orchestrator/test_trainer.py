"""`Trainer.step` without Ray: the step's order of phases, where a policy lag of one sends the next
rollout and the weights, one value per metric per step under the documented names, a resume
from a checkpoint written while the next step's plan was already drawn, and no checkpoint ahead of
the logged steps when a rollout is lost."""

from __future__ import annotations

import fnmatch
import random
import re
from pathlib import Path

import pytest

from orchestrator.checkpoints import checkpoints, load_state
from orchestrator.config import load_config
from orchestrator.run_start import RunStart
from orchestrator.tracking.step_log import StepLog
from orchestrator.trainer import StepFailed, Trainer
from orchestrator.weight_sync import WeightSync
from tests.support.fake_training import FakeController, FakeLearner, FakePool, FakeTracker

METRICS_DOC = Path(__file__).parents[3] / "docs" / "reference" / "metrics.md"


def config(tmp_path, *overrides: str):
    return load_config(
        None,
        [
            f"workdir={tmp_path}",
            "rollout.group_size=2",
            "rollout.groups_per_step=3",
            "trainer.eval_every=0",
            "trainer.checkpoint_every=0",
            *overrides,
        ],
    )


class Run:
    """A trainer on fakes, and what they record."""

    def __init__(
        self,
        cfg,
        tmp_path,
        step: int = 0,
        rng: random.Random | None = None,
        entropies=None,
        version: int = 0,
        lost_at: int | None = None,
    ):
        self.events: list = []
        self.tracker = FakeTracker()
        self.pool = FakePool(self.events, lost_at)
        self.learner = FakeLearner(self.events, version)
        self.controller = FakeController(self.events)
        start = RunStart(
            self.tracker,
            tmp_path,
            str(tmp_path),
            {"study_name": "fake", "storage": "sqlite:///unused.db"},
            step,
            rng or random.Random(cfg.seed),
            "policy",
            "policy",
            {},
            {},
            entropies or {},
            StepLog(self.tracker),
        )
        self.weights = WeightSync(self.learner, self.pool, version=version)
        if version:
            self.weights.push()
            self.events.clear()
        self.trainer = Trainer(cfg, start, self.controller, self.pool, self.learner, self.weights, log=lambda line: None)
        self.first = step

    def steps(self, until: int):
        ahead, outcomes = None, []
        for t in range(self.first, until):
            outcome = self.trainer.step(t, ahead)
            ahead = outcome.ahead
            outcomes.append(outcome)
        return outcomes


def per_step(events: list) -> list[list]:
    """The events split where each step's own rollout is collected."""
    steps: list[list] = []
    for event in events:
        if event[0] == "collect" or not steps:
            steps.append([])
        steps[-1].append(event)
    return steps


def test_without_a_lag_each_rollout_waits_for_the_last_updates_weights(tmp_path):
    run = Run(config(tmp_path, "trainer.steps=3"), tmp_path)
    outcomes = run.steps(3)
    assert run.events[:2] == [("propose", 0), ("submit", 0)]
    one_step = [("update", 6), ("snapshot", 1), ("observe", 0), ("propose", 1), ("load", 1), ("submit", 1)]
    assert run.events[2:9] == [("collect", 0), *one_step]
    assert [version for version, _ in run.pool.submitted] == [0, 1, 2]
    assert [o.metrics["actor/policy_lag"] for o in outcomes] == [0.0, 0.0, 0.0]
    assert run.events[-1] == ("load", 3) and run.weights.version == 3 == run.pool.loaded_version
    # Planned while the update ran: the proposal cannot see that update's entropy.
    assert run.controller.entropy_seen == {0: None, 1: None, 2: None}


def test_an_entropy_guard_makes_the_step_plan_after_the_update(tmp_path):
    run = Run(config(tmp_path, "trainer.steps=3", "curriculum.entropy_floor=0.5"), tmp_path)
    run.steps(3)
    assert run.controller.entropy_seen == {0: None, 1: pytest.approx(1.1), 2: pytest.approx(1.2)}
    assert run.events[2:8] == [("collect", 0), ("update", 6), ("snapshot", 1), ("observe", 0), ("load", 1), ("propose", 1)]


def test_a_lag_of_one_submits_the_next_rollout_before_the_sync_and_syncs_once_it_is_in(tmp_path):
    """Steps 1 and 3 evaluate: the rollout in flight is collected first, then the weights go out,
    so the evaluation samples from the newest ones."""
    run = Run(config(tmp_path, "trainer.steps=4", "trainer.pipeline=one_step_off", "trainer.eval_every=2"), tmp_path)
    outcomes = run.steps(4)
    step0, step1, step2, step3 = per_step(run.events[2:])
    assert run.events[:2] == [("propose", 0), ("submit", 0)]
    assert step0 == [("collect", 0), ("update", 6), ("snapshot", 1), ("observe", 0), ("propose", 1), ("submit", 0)]
    assert step1[:3] == [("collect", 0), ("load", 1), ("update", 6)]
    assert step1[3:] == [("snapshot", 2), ("observe", 1), ("propose", 2), ("submit", 1)]
    assert step2[:3] == [("collect", 1), ("load", 2), ("eval", 2)]  # step 1's tail: step 2's rollout is in
    assert step2[3:] == [("update", 6), ("snapshot", 3), ("observe", 2), ("propose", 3), ("submit", 2)]
    assert step3 == [("collect", 2), ("load", 3), ("update", 6), ("snapshot", 4), ("observe", 3), ("load", 4), ("eval", 4)]
    assert [o.metrics["actor/policy_lag"] for o in outcomes] == [0.0, 1.0, 1.0, 1.0]
    assert [version for version, _ in run.pool.submitted] == [0, 0, 1, 2]
    # Step t's proposal sees step t - 2's entropy: the newest update finished when it is made.
    assert run.controller.entropy_seen == {0: None, 1: None, 2: pytest.approx(1.1), 3: pytest.approx(1.2)}
    assert outcomes[-1].ahead is None


def documented(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


@pytest.mark.parametrize("pipeline", ["sync", "one_step_off"])
def test_every_step_logs_each_metric_once_under_a_documented_name(tmp_path, pipeline):
    cfg = config(
        tmp_path, "trainer.steps=4", f"trainer.pipeline={pipeline}", "trainer.eval_every=2", "curriculum.entropy_floor=0.1"
    )
    run = Run(cfg, tmp_path)
    run.steps(4)
    assert run.tracker.logged_steps == [0, 1, 2, 3]
    history = run.tracker.history
    evaluated = {key for key in history if key.startswith("eval/")}
    assert evaluated and all([s for s, _ in history[key]] == [1, 3] for key in evaluated)
    assert all([s for s, _ in history[key]] == [0, 1, 2, 3] for key in history.keys() - evaluated)
    names = re.findall(r"`([a-z_]+/[a-z_<>0-9/*]+)`", METRICS_DOC.read_text())
    patterns = [re.sub(r"<[a-z]+>", "*", name) for name in names]
    assert [key for key in sorted(history) if not documented(key, patterns)] == []
    assert history["perf/sync_bytes"][-1] == (3, 1234.0) and history["faults/skipped_updates"][-1] == (3, 0.0)
    assert run.tracker.params == {"learner.precision": "fp32"}


@pytest.mark.parametrize("pipeline", ["sync", "one_step_off"])
def test_a_resume_redraws_the_plan_the_checkpoint_was_written_before(tmp_path, pipeline):
    """The checkpoint after step 2 is written once step 3's plan (and at lag 1 its rollout) exists:
    it keeps the sampler's state from before that draw, so the resumed run plays the same users
    and seeds at step 3, on the checkpoint's weights."""
    cfg = config(tmp_path / "first", "trainer.steps=5", f"trainer.pipeline={pipeline}", "trainer.checkpoint_every=3")
    first = Run(cfg, tmp_path / "first")
    first.steps(5)
    (checkpoint, _) = checkpoints(str(tmp_path / "first"))
    state = load_state(checkpoint)
    assert state.step == 3
    entropies = {int(step): value for step, value in state.entropies.items()}
    resumed = Run(cfg, tmp_path / "again", step=3, rng=state.restore_rng(), entropies=entropies, version=3)
    resumed.steps(5)
    assert resumed.pool.submitted[0][1] == first.pool.submitted[3][1]
    assert resumed.pool.submitted[1][1] == first.pool.submitted[4][1]
    lagged = pipeline == "one_step_off"  # step 4 is submitted before update 3's weights go out
    assert [version for version, _ in resumed.pool.submitted] == [3, 3 if lagged else 4]
    assert resumed.controller.entropy_seen[4] == first.controller.entropy_seen[4]
    assert resumed.tracker.logged_steps == [3, 4]


@pytest.mark.parametrize("eval_every", [0, 2])
def test_a_lost_rollout_leaves_no_checkpoint_ahead_of_the_logged_steps(tmp_path, eval_every):
    """At lag 1 step 2's rollout is collected at the start of step 2, after step 1 is logged; or,
    where step 1 evaluates, before step 1 is logged. A checkpoint after step 1 must not exist while
    step 1's metrics (and its evaluation) never reached MLflow: a resume from it would skip them."""
    cfg = config(
        tmp_path,
        "trainer.steps=4",
        "trainer.pipeline=one_step_off",
        f"trainer.eval_every={eval_every}",
        "trainer.checkpoint_every=1",
    )
    run = Run(cfg, tmp_path, lost_at=2)
    with pytest.raises(StepFailed, match="step 2 failed: rollout worker 0 died") as failed:
        run.steps(4)
    logged = run.tracker.logged_steps
    assert logged == list(range(len(logged))) and len(logged) == (2 if eval_every == 0 else 1)
    newest = load_state(checkpoints(str(tmp_path))[-1])
    assert newest.step == len(logged)
    if eval_every:
        assert "step_000001, is intact" in str(failed.value)
