"""Synchronous against pipelined (one_step_off) training on the demo configuration.

    python bench/pipeline.py [--seeds 3] [--steps 60]

Each mode trains the demo job (held-out evaluation off, so the clock measures training) for
--steps steps with --seeds seeds. `sync_own_cores` gives each actor only its own CPU, as rollout
and learner GPUs are apart on a cluster, where the synchronous loop leaves each side idle half the
time; `sync_shared` lets each phase use both cores (the default here); `one_step_off` runs the two
at once, each on its own core. Prints steps/s ratios (one_step_off over each sync), the mean reward
of the last quarter of the steps per seed, and band's tracking ratio after a 20% warm-up (pooled
over seeds). `reward_gap_sd`: the pipelined seeds' mean last-quarter reward minus the synchronous
(own cores) seeds', in standard deviations of those synchronous seeds (within +-1: no cost to
learning at equal steps). Last line: {"speedup", "speedup_vs_shared", "reward_last_quarter":
{...}, "reward_gap_sd", "tracking_ratio": {...}}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODES = {
    "sync_own_cores": ["trainer.pipeline=sync", "resources.share_cpus=false"],
    "sync_shared": ["trainer.pipeline=sync"],
    "one_step_off": ["trainer.pipeline=one_step_off"],
}


def one_run(mode: str, seed: int, steps: int, tmp: str) -> dict:
    from mlflow import MlflowClient

    from orchestrator.config import load_config
    from orchestrator.driver import train

    uri = f"sqlite:///{tmp}/mlflow.db"
    cfg = load_config(
        None,
        [
            *MODES[mode],
            f"seed={seed}",
            f"trainer.steps={steps}",
            "trainer.eval_every=0",
            "trainer.checkpoint_every=0",
            f"workdir={tmp}/runs",
            f"tracking.uri={uri}",
            "tracking.experiment=bench-pipeline",
        ],
    )
    summary = train(cfg, log=lambda m: None)
    client = MlflowClient(uri)

    def history(key: str) -> list[float]:
        return [m.value for m in sorted(client.get_metric_history(summary.run_id, key), key=lambda m: m.step)]

    warm = steps // 5
    return {
        "step_s": statistics.mean(t.step_s for t in summary.timings[1:]),
        "reward_last_quarter": statistics.mean(history("reward/mean")[-max(1, steps // 4) :]),
        "pass_rates": history("curriculum/pass_rate")[warm:],
        "noise_vars": [x**2 for x in history("curriculum/noise_sd")[warm:]],
    }


def reward_gap_sd(runs: dict[str, list[dict]]) -> float | None:
    sync = [r["reward_last_quarter"] for r in runs["sync_own_cores"]]
    piped = [r["reward_last_quarter"] for r in runs["one_step_off"]]
    if len(sync) < 2 or statistics.stdev(sync) == 0:
        return None
    return (statistics.mean(piped) - statistics.mean(sync)) / statistics.stdev(sync)


def main() -> None:
    from orchestrator.curriculum.pass_curve import tracking_ratio

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="gl-bench-pipeline-") as tmp:
        for seed in range(args.seeds):
            for mode in MODES:
                run = one_run(mode, seed, args.steps, tmp)
                runs.setdefault(mode, []).append(run)
                figures = f"{run['step_s']:.2f} s/step, reward {run['reward_last_quarter']:.3f}"
                print(f"{mode:>14} seed {seed}: {figures}", file=sys.stderr)
    step_s = {mode: statistics.mean(r["step_s"] for r in rs) for mode, rs in runs.items()}
    result = {
        "speedup": step_s["sync_own_cores"] / step_s["one_step_off"],
        "speedup_vs_shared": step_s["sync_shared"] / step_s["one_step_off"],
        "step_s": step_s,
        "reward_last_quarter": {mode: [r["reward_last_quarter"] for r in rs] for mode, rs in runs.items()},
        "reward_gap_sd": reward_gap_sd(runs),
        "tracking_ratio": {
            mode: tracking_ratio([p for r in rs for p in r["pass_rates"]], [v for r in rs for v in r["noise_vars"]], 0.5)
            for mode, rs in runs.items()
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
