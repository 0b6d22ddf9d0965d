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
