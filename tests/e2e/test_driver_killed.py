"""`kill -9` of the driver in the middle of a run whose learner is 2 FSDP2 ranks, then `goldilocks
run --resume auto` on a single learner: the 2-rank checkpoint resumes on one rank and the run ends
with every step exactly once in MLflow, as many as an uninterrupted run has."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.support.cli import GOLDILOCKS, run_cli
from tests.support.processes import stop_session

pytestmark = pytest.mark.slow

STEPS = 4
SETTINGS = [
    f"trainer.steps={STEPS}",
    "trainer.checkpoint_every=2",
    "trainer.eval_every=0",
    "resources.learner.num_workers=2",
    "rollout.groups_per_step=2",
    "resources.rollout.num_cpus=0.5",
    "resources.learner.num_cpus=0.5",
]
PER_STEP = ("reward/mean", "curriculum/pass_rate", "curriculum/difficulty", "actor/entropy", "faults/rollout_restarts")


def wait_for(path_glob: str, root: Path, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while not list(root.glob(path_glob)):
        if process.poll() is not None:
            raise AssertionError(f"the run ended (exit {process.returncode}) before {path_glob} appeared")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path_glob} did not appear within {seconds}s")
        time.sleep(0.5)


def test_driver_killed_mid_run_then_resumed_logs_each_step_once(tiny_model, tmp_path):
    args = [GOLDILOCKS, "run", *(f"--set={s}" for s in SETTINGS)]
    log = (tmp_path / "driver.log").open("w")
    driver = subprocess.Popen(args, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # The state file is a checkpoint's last: before it the directory holds half a checkpoint.
        wait_for("runs/*/checkpoints/step_000002/trainer_state.json", tmp_path, 300, driver)
        os.kill(driver.pid, signal.SIGKILL)  # the next step is under way; nothing of it is saved
        assert driver.wait(timeout=30) == -signal.SIGKILL
        (run_dir,) = (tmp_path / "runs").iterdir()
        assert not (run_dir / "FINISHED").exists()
        saved = max(int(p.name.split("_")[1]) for p in (run_dir / "checkpoints").glob("step_??????"))
        assert 2 <= saved < STEPS

        resumed = run_cli("run", "--resume", "auto", "--set", "resources.learner.num_workers=1", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"resuming run {run_dir.name} after step {saved}" in resumed.stdout
    finally:
        stop_session(driver, grace_s=0)  # Ray's own processes, left behind by the killed driver

    client = MlflowClient("sqlite:///" + str(tmp_path / "mlflow.db"))
    run = client.get_run(run_dir.name)
    assert run.info.status == "FINISHED"
    for key in PER_STEP:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert sorted(steps) == list(range(STEPS)), (key, steps)
    assert (run_dir / "FINISHED").exists()
