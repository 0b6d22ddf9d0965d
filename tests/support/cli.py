"""The `goldilocks` command as a user runs it: a subprocess, output captured, a wide terminal."""

import os
import subprocess
import sys
from pathlib import Path

GOLDILOCKS = str(Path(sys.executable).with_name("goldilocks"))


def run_cli(*args, cwd, timeout=600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [GOLDILOCKS, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
