"""Does running sweep trials in parallel pay? Wall time of the smoke sweep, 1 vs K at a time.

    python bench/sweep_parallel.py [--sweep sweeps/smoke.yaml] [--parallel 2] [--n-trials 4]

Each setting runs `goldilocks sweep` as a user would, in its own fresh temporary directory (a
new study, MLflow store and Ray cluster), with the policy model already cached. Last line:
{"serial_s", "parallel_s", "parallel", "ratio"} - the target on 2 cores is ratio <= 0.75.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOLDILOCKS = str(Path(sys.executable).with_name("goldilocks"))


def wall_time(sweep: Path, parallel: int, n_trials: int) -> float:
    with tempfile.TemporaryDirectory(prefix="gl-sweep-bench-") as tmp:
        start = time.perf_counter()
        out = subprocess.run(
            [GOLDILOCKS, "sweep", str(sweep), "--parallel", str(parallel), "--n-trials", str(n_trials)],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"sweep --parallel {parallel} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, default=Path(__file__).resolve().parent.parent / "sweeps" / "smoke.yaml")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--n-trials", type=int, default=4)
    args = parser.parse_args()
    subprocess.run([GOLDILOCKS, "bootstrap-model"], check=True, capture_output=True)
    serial = wall_time(args.sweep.resolve(), 1, args.n_trials)
    print(f"--parallel 1: {serial:.1f} s", flush=True)
    parallel = wall_time(args.sweep.resolve(), args.parallel, args.n_trials)
    print(f"--parallel {args.parallel}: {parallel:.1f} s", flush=True)
    print(json.dumps({"serial_s": serial, "parallel_s": parallel, "parallel": args.parallel, "ratio": parallel / serial}))


if __name__ == "__main__":
    main()
