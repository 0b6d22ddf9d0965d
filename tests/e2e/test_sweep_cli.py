"""`goldilocks sweep` as a user runs it: trials in parallel on Ray, killed mid-way, re-run."""

import contextlib
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SMOKE = str(Path(__file__).resolve().parents[2] / "sweeps" / "smoke.yaml")
SHORTER = ["--set", "trainer.steps=2", "--set", "trainer.eval_every=1"]
"""Two steps a trial, each evaluated: what is tested is the sweep's bookkeeping, not the training."""


def trials_by_state(storage: str) -> dict[str, list]:
    try:
        study = optuna.load_study(study_name="smoke", storage=storage)
    except KeyError:
        return {}
    out: dict[str, list] = {}
    for t in study.get_trials(deepcopy=False):
        out.setdefault(t.state.name, []).append(t)
    return out


def ready_to_kill(path: Path) -> bool:
    """Whether the running sweep has a finished trial and a running one whose run it has recorded.
    Read-only: opening the study with Optuna would write its schema, racing the sweep to create
    it; and a kill in the instant between starting a trial's run and recording its id would leave
    a run this test could not match to its trial."""
    if not path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            states = dict(db.execute("SELECT trial_id, state FROM trials").fetchall())
            named = {row[0] for row in db.execute("SELECT trial_id FROM trial_user_attributes WHERE key = 'mlflow_run_ids'")}
    except sqlite3.Error:
        return False  # not created yet
    running = {trial for trial, state in states.items() if state == "RUNNING"}
    return "COMPLETE" in states.values() and bool(running) and running <= named


def sweep_in_background(cwd: Path, log_name: str) -> subprocess.Popen:
    """In its own session, so the driver and the Ray cluster it started can be killed together."""
    with open(cwd / log_name, "w") as log:
        return subprocess.Popen(
            [BIN / "goldilocks", "sweep", SMOKE, *SHORTER],
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
            start_new_session=True,
        )


def kill_session(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_a_sweep_runs_two_trials_at_once_and_a_rerun_finishes_it_after_a_kill(tiny_model, tmp_path):
    storage = f"sqlite:///{tmp_path}/runs/sweep-smoke.db"
    first = sweep_in_background(tmp_path, "first.log")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and first.poll() is None:
            if ready_to_kill(tmp_path / "runs" / "sweep-smoke.db"):
                break
            time.sleep(1)
        assert first.poll() is None, (tmp_path / "first.log").read_text()
    finally:
        kill_session(first)
    before = {t.number: t.user_attrs["mlflow_run_ids"] for t in trials_by_state(storage)["COMPLETE"]}
    interrupted = [t.number for t in trials_by_state(storage)["RUNNING"]]

    again = sweep_in_background(tmp_path, "again.log")
    try:
        assert again.wait(timeout=900) == 0, (tmp_path / "again.log").read_text()
    finally:
        kill_session(again)
    listing = subprocess.run(
        [BIN / "optuna", "trials", "--study-name", "smoke", "--storage", storage, "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    trials = json.loads(listing.stdout)
    finished = [t for t in trials if t["state"] in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4, trials
    assert {t["number"] for t in trials if t["state"] == "FAIL"} == set(interrupted)

    study = optuna.load_study(study_name="smoke", storage=storage)
    for number, run_ids in before.items():
        assert study.trials[number].state.name == "COMPLETE" and study.trials[number].user_attrs["mlflow_run_ids"] == run_ids
    windows = sorted((t.datetime_start, t.datetime_complete) for t in study.trials if t.state.name in ("COMPLETE", "PRUNED"))
    assert any(b[0] < a[1] for a, b in itertools.pairwise(windows)), "no two trials overlapped"

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("goldilocks-sweeps")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("goldilocks.kind") == "sweep"]
    assert parent.info.status == "FINISHED"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    numbers = sorted(int(r.data.tags["sweep.trial_number"]) for r in children)
    assert numbers == sorted(t.number for t in study.trials if t.user_attrs.get("mlflow_run_ids"))
    assert all(r.info.status in ("FINISHED", "KILLED") for r in children)
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "sweep")}
    assert {"sweep/trials.csv", "sweep/comparison.png"} <= artifacts
