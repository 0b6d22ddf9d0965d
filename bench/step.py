"""Where one training step's time goes, phase by phase, in the demo configuration or any other.

    python bench/step.py [--steps 8] [--set key=value ...]

Runs the job (configs/demo.yaml with the overrides, MLflow on a temporary sqlite) for --steps
steps. The first step (engine warm-up) and the last (it writes the run's closing checkpoint) are
left out. Prints to stderr a table of seconds per step and share of the step for each part:

- rollout: `generate` and `simulate` (the slowest worker's own time), `rollout_calls` (the rest
  of the driver's wait for it: Ray, the workers' tokenising). Pipelined, the rollout runs behind
  the update and only `rollout_wait`, the part the driver still waited for, counts.
- `score`: rewards, advantages and the training batch, on the driver.
- learner: its `forward`, `backward` and `optimizer` blocks, the rest of its update
  (`learner_other`: micro-batching, metrics) and `learner_calls` (Ray's call around it, the batch's
  transfer).
- sync: the learner's weight snapshot and the workers' loading (`sync_load`).
- `eval`, `log` (metrics, sample dialogues, checkpoints) and `driver` (the rest: proposing,
  drawing users, bookkeeping).

and on stdout one JSON object with the same (`breakdown_s`), `step_s`, the driver's phases
(`phase_s`), `sync_frac` and `response_tokens_per_step` (the last step's policy tokens).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def breakdown(timing, pipelined: bool) -> dict[str, float]:
    """One step's seconds by part; they sum to its wall time."""
    p, q = timing.phases, timing.parts
    if pipelined:
        rows = {"rollout_wait": q["rollout_wait"]}
    else:
        rows = {"generate": p["generate"], "simulate": p["simulate"]}
        rows["rollout_calls"] = q["rollout_wait"] - p["generate"] - p["simulate"]
    rows["score"] = p["score"]
    rows |= {f"learner_{k}": q[f"learner_{k}"] for k in ("forward", "backward", "optimizer")}
    rows["learner_other"] = q["learner_update"] - sum(q[f"learner_{k}"] for k in ("forward", "backward", "optimizer"))
    rows["learner_calls"] = p["learn"] - q["learner_update"]
    rows["sync_snapshot"] = q["sync_snapshot"]
    rows["sync_load"] = p["sync"] - q["sync_snapshot"]
    rows["eval"], rows["log"] = p["eval"], p["log"]
    rows["driver"] = timing.step_s - sum(rows.values())
    return rows


def table(rows: dict[str, float], step_s: float) -> str:
    lines = [f"{'part':<18}{'s/step':>9}{'share':>8}"]
    lines += [f"{name:<18}{seconds:>9.4f}{seconds / step_s:>8.1%}" for name, seconds in rows.items()]
    lines.append(f"{'step':<18}{step_s:>9.4f}{1:>8.0%}")
    return "\n".join(lines)


def main() -> None:
    from orchestrator.config import load_config
    from orchestrator.driver import train
    from orchestrator.step_timing import PHASES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    if args.steps < 3:
        parser.error("--steps must be at least 3: the first and the last step are left out")
    with tempfile.TemporaryDirectory(prefix="gl-bench-step-") as tmp:
        cfg = load_config(
            None,
            [
                f"trainer.steps={args.steps}",
                f"workdir={tmp}/runs",
                f"tracking.uri=sqlite:///{tmp}/mlflow.db",
                "tracking.experiment=bench-step",
                *args.overrides,
            ],
        )
        summary = train(cfg, log=lambda m: print(m, file=sys.stderr))
    timed = summary.timings[1:-1]
    n = len(timed)
    step_s = sum(t.step_s for t in timed) / n
    pipelined = cfg.trainer.pipeline == "one_step_off"
    per_step = [breakdown(t, pipelined) for t in timed]
    rows = {name: sum(r[name] for r in per_step) / n for name in per_step[0]}
    print(table(rows, step_s), file=sys.stderr)
    result = {
        "steps_timed": n,
        "step_s": step_s,
        "breakdown_s": rows,
        "phase_s": {p: sum(t.phases[p] for t in timed) / n for p in PHASES},
        "sync_frac": sum(t.phases["sync"] for t in timed) / (step_s * n),
        "response_tokens_per_step": summary.last_metrics["rollout/response_tokens_mean"]
        * cfg.rollout.group_size
        * cfg.rollout.groups_per_step,
        "last_step_s": summary.timings[-1].step_s,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
