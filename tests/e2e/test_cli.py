"""The `goldilocks` command as a user runs it: a subprocess in a fresh directory."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

GOLDILOCKS = str(Path(sys.executable).with_name("goldilocks"))


def run_cli(*args, cwd, timeout=600):
    return subprocess.run(
        [GOLDILOCKS, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"}
    )


def test_unknown_key_fails_fast_naming_it_and_writes_nothing(tmp_path):
    start = time.monotonic()
    out = run_cli("run", "--set", "trainer.stepz=3", cwd=tmp_path)
    assert out.returncode == 2
    assert "trainer.stepz: unknown key" in out.stdout + out.stderr
    assert time.monotonic() - start < 30
    assert list(tmp_path.iterdir()) == []


def test_bad_value_names_the_key(tmp_path):
    out = run_cli("run", "--set", "rollout.num_workers=0", cwd=tmp_path)
    assert out.returncode == 2 and "rollout.num_workers" in out.stdout + out.stderr


def test_unknown_model_size_is_an_error(tmp_path):
    out = run_cli("bootstrap-model", "--size", "huge", cwd=tmp_path)
    assert out.returncode == 2 and "unknown model size 'huge'" in out.stdout


@pytest.mark.slow
def test_run_trains_and_points_to_mlflow(tiny_model, tmp_path):
    out = run_cli("run", "--set", "trainer.steps=2", "--set", "rollout.groups_per_step=2", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "MLflow run id:" in out.stdout and "mlflow ui --backend-store-uri sqlite:///mlflow.db" in out.stdout
    assert (tmp_path / "mlflow.db").exists()
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1 and (run_dirs[0] / "curves.png").exists()
