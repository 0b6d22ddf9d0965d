"""Where one training step's time goes, in the demo configuration.

    python bench/step.py [--steps 8] [--set key=value ...]

Runs the demo job (configs/demo.yaml, MLflow on a temporary sqlite) for --steps steps and splits
each step's wall time into generate / simulate / learn / sync / log; the rest is overhead (Ray
calls, batching, scoring). Step 0 (engine warm-up) is left out. Prints per-phase seconds per step,
`overhead_frac` (share of step time outside the named phases), `sync_frac` and
`response_tokens_per_step` (the last step's policy tokens).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from orchestrator.config import load_config
    from orchestrator.driver import train
    from orchestrator.step_timing import PHASES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
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
    timed = summary.timings[1:] or summary.timings
    total = sum(t.step_s for t in timed)
    phases = {p: sum(t.phases[p] for t in timed) / len(timed) for p in PHASES}
    result = {
        "steps_timed": len(timed),
        "step_s": total / len(timed),
        "phase_s": phases,
        "overhead_s": sum(t.overhead_s for t in timed) / len(timed),
        "overhead_frac": sum(t.overhead_s for t in timed) / total,
        "sync_frac": sum(t.phases["sync"] for t in timed) / total,
        "response_tokens_per_step": summary.last_metrics["rollout/response_tokens_mean"]
        * cfg.rollout.group_size
        * cfg.rollout.groups_per_step,
    }
    result["last_update_s"] = summary.last_metrics["perf/update_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
