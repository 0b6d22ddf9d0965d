"""Fault tolerance on the demo job: a rollout worker killed mid-run and the driver killed with
SIGKILL, then `goldilocks run --resume auto`; versus the same job uninterrupted. With
`--kill-simulator-at N`, both jobs serve their `llm` user in the run (two tiny simulator servers,
SERVED_TINY, unless `--set simulator...` says otherwise) and a simulator server is killed too,
while it has requests of step N in flight.

    python bench/faults.py [--steps 20] [--kill-worker-at 5] [--kill-driver-at 12] [--kill-simulator-at N]
                           [--out DIR] [--set key=value ...]

Both jobs run `goldilocks run` (configs/demo.yaml) as subprocesses, each with its own MLflow
store. The faulty one gets the test-only faults through `GOLDILOCKS_FAULTS`: `kill_rollout_worker_at_step` (Ray
restarts the worker; its groups are re-run) and `kill_driver_at_step` (the driver kills
itself with SIGKILL as that step starts; its Ray processes are then killed too, as an operator
would after a crash), then resumes from the newest checkpoint. From MLflow: `steps_completed`
(distinct steps logged), `duplicate_steps` (values logged more than once for a step) and
`missing_steps` (steps without a value), both summed over every per-step metric, the worker restarts counted,
`redone_steps` (the resumed run's tag: steps whose points the lost trajectory logged), and
`overhead_frac` = (faulty wall time, resume included) / (uninterrupted wall time) - 1. The last
line is one JSON object. `--set` goes to both jobs (`--set trainer.pipeline=one_step_off`: the
same faults in pipelined training). Live logging, from the uninterrupted run:
`distinct_log_times` (one per step when each step is logged as it ends, one per checkpoint when
metrics wait for checkpoints) and `max_log_gap_s` (the longest wait between two steps' points).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from mlflow import MlflowClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import GOLDILOCKS, SERVED_TINY
from orchestrator.fault_injection import ENV


def goldilocks(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, float]:
    """Exit code and wall time of one CLI call, in its own process session; whatever it leaves
    running (a killed driver's Ray processes) is killed with the session."""
    start = time.perf_counter()
    with (cwd / "cli.log").open("a") as log:
        process = subprocess.Popen(
            [GOLDILOCKS, *args],
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        code = process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return code, time.perf_counter() - start


def histories(workdir: Path) -> tuple[object, dict[str, list[tuple[int, float]]]]:
    """The MLflow run and every per-step metric's (step, value) history."""
    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    keys = [k for k in run.data.metrics if not k.startswith("eval/")]
    return run, {k: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, k)] for k in keys}


def logged_at(workdir: Path) -> dict[int, float]:
    """When each step's metrics reached MLflow (seconds since the epoch)."""
    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return {m.step: m.timestamp / 1000 for m in client.get_metric_history(run.info.run_id, "perf/step_s")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--kill-worker-at", type=int, default=5)
    parser.add_argument("--kill-driver-at", type=int, default=12)
    parser.add_argument("--kill-simulator-at", type=int, default=None, help="kill simulator server 0 during this step")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="key=value for both jobs")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="gl-faults-"))
    common = ["--set", f"trainer.steps={args.steps}", "--set", "trainer.checkpoint_every=5"]
    served = args.kill_simulator_at is not None and not any(o.startswith("simulator.") for o in args.overrides)
    for item in [*(SERVED_TINY if served else []), *args.overrides]:
        common += ["--set", item]

    clean_dir, faulty_dir = out / "uninterrupted", out / "faulty"
    for d in (clean_dir, faulty_dir):
        d.mkdir(parents=True, exist_ok=True)
    print(f"uninterrupted run of {args.steps} steps in {clean_dir}", flush=True)
    code, clean_s = goldilocks(["run", *common], clean_dir)
    if code != 0:
        raise SystemExit(f"the uninterrupted run failed (exit {code}); see {clean_dir / 'cli.log'}")

    print(f"faulty run: worker killed at step {args.kill_worker_at}, driver at step {args.kill_driver_at}", flush=True)
    faults = f"kill_rollout_worker_at_step={args.kill_worker_at},kill_driver_at_step={args.kill_driver_at}"
    if args.kill_simulator_at is not None:
        print(f"  and simulator server 0 at step {args.kill_simulator_at}", flush=True)
        faults += f",kill_simulator_at_step={args.kill_simulator_at}"
    code, first_s = goldilocks(["run", *common], faulty_dir, {ENV: faults})
    if code != -signal.SIGKILL:
        raise SystemExit(f"the faulty run should have been killed, exit {code}; see {faulty_dir / 'cli.log'}")
    print("resuming", flush=True)
    code, resume_s = goldilocks(["run", "--resume", "auto"], faulty_dir)
    if code != 0:
        raise SystemExit(f"the resumed run failed (exit {code}); see {faulty_dir / 'cli.log'}")

    run, history = histories(faulty_dir)
    clean_log = logged_at(clean_dir)
    steps = set(range(args.steps))
    logged = {key: [step for step, _ in values] for key, values in history.items()}
    result = {
        "steps": args.steps,
        "steps_completed": len(steps & set(logged["reward/mean"])),
        "duplicate_steps": sum(len(v) - len(set(v)) for v in logged.values()),
        "missing_steps": sum(len(steps - set(v)) for v in logged.values()),
        "rollout_restarts": int(max(history["faults/rollout_restarts"])[1]),
        "simulator_restarts": int(max(history["faults/simulator_restarts"])[1])
        if "faults/simulator_restarts" in history
        else None,
        "run_status": run.info.status,
        "redone_steps": run.data.tags.get("resume.redone_steps"),
        "distinct_log_times": len(set(clean_log.values())),
        "max_log_gap_s": round(float(np.diff(sorted(clean_log.values())).max()), 1),
        "uninterrupted_s": round(clean_s, 1),
        "faulty_s": round(first_s + resume_s, 1),
        "overhead_frac": round((first_s + resume_s) / clean_s - 1, 3),
        "overrides": args.overrides,
        "out": str(out),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
