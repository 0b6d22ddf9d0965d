"""Faults on a real local Ray cluster with the tiny model: a rollout worker killed mid-step is
restarted and the run goes on; too many deaths end the run with its steps checkpointed."""

import pytest
from mlflow import MlflowClient

from orchestrator.config import load_config
from orchestrator.driver import StepFailed, train
from orchestrator.fault_injection import FaultPlan

pytestmark = pytest.mark.slow


def small_run(tmp_path, *overrides: str):
    return load_config(
        None,
        [
            f"workdir={tmp_path}/runs",
            f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
            "tracking.experiment=faults",
            "rollout.num_workers=2",
            "rollout.group_size=2",
            "rollout.groups_per_step=4",
            "trainer.checkpoint_every=1",
            "resources.rollout.num_cpus=0.5",
            "resources.learner.num_cpus=0.5",
            *overrides,
        ],
    )


def history(tmp_path, run_id: str, key: str) -> list[tuple[int, float]]:
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_a_rollout_worker_killed_mid_step_is_restarted_with_current_weights(tiny_model, tmp_path):
    messages: list[str] = []
    cfg = small_run(tmp_path, "trainer.steps=3", "trainer.eval_every=3")
    summary = train(cfg, log=messages.append, faults=FaultPlan(kill_rollout_worker_at_step=1))
    assert (summary.run_dir / "FINISHED").exists()
    assert history(tmp_path, summary.run_id, "faults/rollout_restarts") == [(0, 0.0), (1, 1.0), (2, 1.0)]
    assert any("rollout worker 0 restarted with weights v1" in m for m in messages)
    # The killed step's batch is whole (4 groups of 2 on both workers) and learnt from; the
    # evaluation after it ran on the restarted worker, which checks it holds the current version.
    assert [s for s, _ in history(tmp_path, summary.run_id, "reward/mean")] == [0, 1, 2]
    assert [s for s, _ in history(tmp_path, summary.run_id, "eval/0.8/score")] == [2]


def test_more_deaths_than_allowed_end_the_run_with_its_steps_checkpointed(tiny_model, tmp_path):
    cfg = small_run(tmp_path, "trainer.steps=3", "faults.max_rollout_restarts=0")
    with pytest.raises(StepFailed, match=r"faults\.max_rollout_restarts=0 restarts(.|\n)*checkpointed in .*step_000001"):
        train(cfg, log=lambda message: None, faults=FaultPlan(kill_rollout_worker_at_step=1))


def test_a_worker_holding_another_version_than_the_driver_counted_stops_the_sync():
    import ray

    from orchestrator.cluster.learner_group import LearnerGroup
    from orchestrator.cluster.ray_session import ray_session
    from orchestrator.cluster.rollout_pool import RolloutPool, VersionMismatch
    from orchestrator.weight_sync import WeightSync
    from tests.support.fake_actors import EchoWorker, SkippingLearner

    with ray_session(load_config(None, ["resources.rollout.num_cpus=0.5", "resources.learner.num_cpus=0.5"])):
        learner = LearnerGroup([ray.remote(SkippingLearner).remote()])
        pool = RolloutPool([ray.remote(EchoWorker).remote()], max_restarts=0)
        with pytest.raises(VersionMismatch, match="loaded the learner's weights v2 but the driver counted v1"):
            WeightSync(learner, pool, version=1).push()
