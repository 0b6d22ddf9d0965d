import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_cli


@pytest.fixture(scope="session")
def two_step_run(tiny_model, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`goldilocks run` for two steps of the demo in a fresh directory, made once a session (a run
    costs Ray, vLLM and the learner a start each): the CLI test reads its output and resumes it,
    the browser test opens its MLflow store. Its directory and the finished process."""
    cwd = tmp_path_factory.mktemp("two-step-run")
    return cwd, run_cli("run", "--set", "trainer.steps=2", "--set", "rollout.groups_per_step=2", cwd=cwd)
