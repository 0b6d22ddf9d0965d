"""Peak resident memory of a whole training job: driver, Ray's daemons, workers and learner.

    python bench/memory.py [--workdir DIR] [--set key=value ...]

Runs `goldilocks run` (the demo job unless overridden) in DIR (default: a temporary directory,
removed afterwards; give one to keep the run's MLflow database) and samples the
summed RSS of its whole process tree every 0.25 s. Prints `peak_rss_gb` and the job's wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def tree_rss(root: psutil.Process) -> int:
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--workdir", type=Path, help="Run here and keep the results.")
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("goldilocks"))
    config = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"
    command = [cli, "run", "--config", str(config)]
    for item in args.overrides:
        command += ["--set", item]
    with tempfile.TemporaryDirectory(prefix="gl-bench-mem-") as scratch:
        tmp = args.workdir or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        job = subprocess.Popen(command, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        root = psutil.Process(job.pid)
        peak = 0
        while job.poll() is None:
            peak = max(peak, tree_rss(root))
            time.sleep(0.25)
        wall = time.monotonic() - start
        if job.returncode != 0:
            raise SystemExit(f"job failed ({job.returncode}):\n{job.stderr.read()[-3000:]}")
    print(json.dumps({"peak_rss_gb": peak / 2**30, "wall_s": wall}))


if __name__ == "__main__":
    main()
