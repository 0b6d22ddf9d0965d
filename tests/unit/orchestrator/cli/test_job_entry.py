"""A submitted job on a node whose Python lacks goldilocks says so, and how to fix it."""

import os
import subprocess
import sys
from pathlib import Path

from orchestrator.cli.job_entry import main, missing_modules

ROOT = Path(__file__).parents[4]


def test_missing_dependencies_are_named_with_the_fix(capsys):
    assert missing_modules(("json", "no_such_module_for_goldilocks")) == ["no_such_module_for_goldilocks"]
    assert main(["run"], required=("no_such_module_for_goldilocks",)) == 3
    err = capsys.readouterr().err
    assert "lacks no_such_module_for_goldilocks" in err and "Install goldilocks on every node" in err


def test_a_bare_python_gets_the_message_not_an_import_traceback(tmp_path):
    """The job's entrypoint under a Python with nothing installed (isolated mode: no site-packages)."""
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import runpy; "
         "sys.argv = ['job_entry', 'run']; runpy.run_module('orchestrator.cli.job_entry', run_name='__main__')", str(ROOT)],
        capture_output=True, text=True, timeout=60, env={"PATH": os.environ.get("PATH", "")}, check=False,
    )  # fmt: skip
    assert out.returncode == 3, out.stderr
    assert "goldilocks cannot run here" in out.stderr and "typer" in out.stderr and "Traceback" not in out.stderr
