"""The sweep driver's bookkeeping on real Optuna storages, without Ray or training."""

import time

import optuna
from mlflow import MlflowClient
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from sweeps.runner import (
    ERROR_ATTR,
    RETRY_OF_ATTR,
    close_orphan_runs,
    counted,
    open_study,
    retry_journal_orphans,
    start_heartbeats_of_orphans,
)
from sweeps.sweep_config import SweepConfig
from sweeps.trial_task import PARENT_TAG, TRIAL_NUMBER_TAG

SWEEP = SweepConfig(name="s", space={"algo.lr": {"low": 1e-4, "high": 1e-2}})


def test_the_budget_counts_finished_running_and_genuine_failures_not_crashes(tmp_path):
    study, _ = open_study(SWEEP, f"sqlite:///{tmp_path}/s.db")
    study.tell(study.ask(), 1.0)
    study.tell(study.ask(), state=TrialState.PRUNED)
    failed = study.ask()
    failed.set_user_attr(ERROR_ATTR, "ValueError: bad")
    study.tell(failed, state=TrialState.FAIL)
    study.tell(study.ask(), state=TrialState.FAIL)  # a crash: retried, not counted
    study.ask()
    assert counted(study) == 4


def test_a_continued_sweep_does_not_propose_its_first_values_again(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study, _ = open_study(SWEEP, url)
    first = study.ask()
    first.suggest_float("algo.lr", 1e-4, 1e-2)
    study.tell(first, 1.0)
    again, _ = open_study(SWEEP, url)
    second = again.ask()
    assert second.suggest_float("algo.lr", 1e-4, 1e-2) != first.params["algo.lr"]


def test_a_journal_sweeps_orphans_are_failed_and_retried_once(tmp_path):
    url = str(tmp_path / "s.log")
    study, _ = open_study(SWEEP, url)
    orphan = study.ask()
    orphan.suggest_float("algo.lr", 1e-4, 1e-2)
    study, _ = open_study(SWEEP, url)
    retry_journal_orphans(study, url)
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL, TrialState.WAITING]
    retried = study.ask()
    assert retried.suggest_float("algo.lr", 1e-4, 1e-2) == orphan.params["algo.lr"]
    assert retried.user_attrs[RETRY_OF_ATTR] == 0
    retry_journal_orphans(study, url)  # the retry dies too: no second retry
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]


def test_a_trial_left_without_a_heartbeat_goes_stale_once_a_rerun_starts_its_heartbeat(tmp_path):
    storage = RDBStorage(f"sqlite:///{tmp_path}/s.db", heartbeat_interval=1, grace_period=1)
    study = optuna.create_study(study_name="s", storage=storage)
    orphan = study.ask()  # its driver died before recording a heartbeat
    beaten = study.ask()
    storage.record_heartbeat(beaten._trial_id)
    time.sleep(2.1)  # SQLite keeps heartbeats to the second; stale means over 1 s behind
    optuna.storages.fail_stale_trials(study)
    assert [t.state for t in study.trials] == [TrialState.RUNNING, TrialState.FAIL]

    start_heartbeats_of_orphans(study, storage)
    time.sleep(2.1)  # SQLite keeps heartbeats to the second; stale means over 1 s behind
    optuna.storages.fail_stale_trials(study)
    assert study.trials[orphan.number].state == TrialState.FAIL


def test_an_orphaned_run_is_closed_even_when_its_trial_never_named_it(tmp_path):
    study, _ = open_study(SWEEP, f"sqlite:///{tmp_path}/s.db")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.create_experiment("sweeps")
    parent = client.create_run(experiment).info.run_id
    study.tell(study.ask(), 1.0)
    study.tell(study.ask(), state=TrialState.FAIL)  # killed before recording its run's id
    runs = {
        number: client.create_run(experiment, tags={PARENT_TAG: parent, TRIAL_NUMBER_TAG: str(number)}).info.run_id
        for number in (0, 1)
    }
    client.set_terminated(runs[0])
    close_orphan_runs(study, f"sqlite:///{tmp_path}/mlflow.db", parent)
    assert client.get_run(runs[0]).info.status == "FINISHED"
    assert client.get_run(runs[1]).info.status == "KILLED"
    assert client.get_run(parent).info.status == "RUNNING"


def test_the_pruner_hears_the_objective_so_far():
    """With reduce: mean, each report is the mean of the evaluations up to that step, so a trial
    is pruned on its area under the curve so far, comparable across trials at the same step."""
    from sweeps.sweep_config import Objective
    from sweeps.trial_task import _Reporter

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    reporter = _Reporter(trial, Objective(metric="eval/0.8/score", reduce="mean"), prune=True)
    for step, value in [(4, 10.0), (9, 30.0), (14, 50.0)]:
        reporter(step, {"eval/0.8/score": value, "other": 1.0})
        reporter(step + 1, {"reward/mean": 0.5})
    assert reporter.values == [10.0, 30.0, 50.0]
    assert study.trials[0].intermediate_values == {4: 10.0, 9: 20.0, 14: 30.0}
