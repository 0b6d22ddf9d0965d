"""The sweep driver's bookkeeping on real Optuna storages, without Ray or training."""

from optuna.trial import TrialState

from sweeps.runner import ERROR_ATTR, RETRY_OF_ATTR, counted, open_study, retry_journal_orphans
from sweeps.sweep_config import SweepConfig

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
