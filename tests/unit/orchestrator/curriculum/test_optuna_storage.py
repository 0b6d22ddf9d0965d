"""Where a study lives: the run's own study on sqlite commits without waiting for the disk."""

import sqlite3

import optuna

from orchestrator.curriculum.optuna_storage import open_run_storage


def test_a_runs_sqlite_study_is_written_in_wal_mode_and_reads_back(tmp_path):
    url = f"sqlite:///{tmp_path}/curriculum.db"
    study = optuna.create_study(study_name="run", storage=open_run_storage(url), direction="minimize")
    trial = study.ask({"difficulty": optuna.distributions.FloatDistribution(0.0, 1.0)})
    trial.set_user_attr("pass_rate", 0.5)
    study.tell(trial, 0.0)
    with sqlite3.connect(tmp_path / "curriculum.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = optuna.load_study(study_name="run", storage=url)
    assert [t.user_attrs["pass_rate"] for t in again.trials] == [0.5]


def test_other_urls_are_left_to_optuna(tmp_path):
    assert open_run_storage("postgresql://db/goldilocks") == "postgresql://db/goldilocks"
    assert isinstance(open_run_storage(str(tmp_path / "study.log")), optuna.storages.JournalStorage)
