import pytest

from orchestrator.config import ConfigError, load_config
from orchestrator.fault_injection import ENV, NO_FAULTS, FaultPlan


def test_a_cli_run_reads_its_faults_from_the_environment():
    plan = FaultPlan.from_env({ENV: "kill_driver_at_step=12, kill_rollout_worker_at_step=5,kill_simulator_at_step=3"})
    assert plan == FaultPlan(kill_rollout_worker_at_step=5, kill_driver_at_step=12, kill_simulator_at_step=3)
    assert FaultPlan.from_env({}) == NO_FAULTS


@pytest.mark.parametrize("text", ["kill_everything=3", "kill_driver_at_step", "kill_driver_at_step=soon"])
def test_a_malformed_plan_is_named(text):
    with pytest.raises(ValueError, match=ENV):
        FaultPlan.from_env({ENV: text})


def test_the_experiment_config_has_no_fault_switches_and_says_where_they_went():
    with pytest.raises(ConfigError, match=r"faults\.kill_driver_at_step: unknown key \(moved to the GOLDILOCKS_FAULTS"):
        load_config(None, ["faults.kill_driver_at_step=3"])


def test_a_driver_kill_before_any_step_is_refused():
    with pytest.raises(ValueError, match="kill_driver_at_step must be 1 or later"):
        FaultPlan.from_env({ENV: "kill_driver_at_step=0"})


class Killed(Exception):
    pass


@pytest.fixture
def kills(monkeypatch) -> list:
    """What the wrappers kill, recorded instead of done."""
    import ray

    killed: list = []
    monkeypatch.setattr(ray, "kill", lambda actor, no_restart: killed.append((actor, no_restart)))
    return killed


def test_the_pool_wrapper_knows_the_step_by_counting_training_rollouts_only(kills):
    from tests.support.fake_training import FakePool

    events: list = []
    inner = FakePool(events)
    inner.workers = ["worker 0", "worker 1"]
    pool, _ = FaultPlan(kill_rollout_worker_at_step=5).install(inner, learner=object(), fleet=None, first_step=3, fresh=False)
    pool.submit([])  # step 3
    pool.rollout([])  # an evaluation: not a step
    assert kills == []
    pool.submit([])  # step 4
    pool.submit([])  # step 5
    assert kills == [("worker 0", False)] and pool.restarts == 0  # the rest is the pool's own


def test_the_learner_wrapper_strikes_in_a_fresh_run_only(kills):
    from tests.support.fake_training import FakeLearner

    plan = FaultPlan(kill_learner_rank_at_step=1)
    inner = FakeLearner([])
    inner.ranks = ["rank 0", "rank 1"]
    _, resumed = plan.install(object(), inner, fleet=None, first_step=0, fresh=False)
    assert resumed is inner
    _, learner = plan.install(object(), inner, fleet=None, first_step=0, fresh=True)
    learner.submit_update([1])
    learner.submit_update([1])
    assert kills == [("rank 1", True)] and inner.version == 2


def test_the_driver_dies_once_the_step_before_is_logged(monkeypatch):
    import os

    def kill(pid, sig):
        raise Killed(sig)

    monkeypatch.setattr(os, "kill", kill)
    logged: list[int] = []
    plan = FaultPlan(kill_driver_at_step=2)
    assert plan.around_steps(lambda step, m: logged.append(step), fresh=False)(1, {}) is None
    on_step = plan.around_steps(lambda step, m: logged.append(step), fresh=True)
    on_step(0, {})
    with pytest.raises(Killed):
        on_step(1, {})
    assert logged == [1, 0, 1]
