"""The default job as a new user meets it (`make demo`), measured.

    python bench/demo.py [--workdir DIR] [--set key=value ...]

Runs `goldilocks run` (configs/demo.yaml) as a subprocess in DIR (default: a temporary folder),
timing it (the policy build included when the model cache is cold), then reads the run back
from MLflow: the share of the second half's steps whose batch pass rate lay inside the band, and
the difficulty the controller reached. Finally plays the held-out users at d = 0.2 / 0.5 / 0.8
with the starting policy and with the run's last checkpoint (`goldilocks eval --checkpoint`,
the demo's 48 stratified users per level). Last line: one JSON object {"wall_s", "steps",
"in_band_second_half", "difficulty_first", "difficulty_last", "eval_start": {D: score},
"eval_end": {D: score}}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import GOLDILOCKS, eval_levels

ROOT = Path(__file__).resolve().parent.parent
LEVELS = "0.2,0.5,0.8"


def evaluate(model_dir: str, workdir: Path, overrides: list[str], name: str) -> dict[str, float]:
    levels = eval_levels(["--checkpoint", model_dir], LEVELS, 48, overrides, workdir / f"eval-{name}.json", workdir)
    return {f"{lv['level']:g}": round(lv["score"], 1) for lv in levels}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gl-bench-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sets = [a for o in args.overrides for a in ("--set", o)]
    tick = time.monotonic()
    command = [GOLDILOCKS, "run", "-c", str(ROOT / "configs" / "demo.yaml"), *sets]
    run = subprocess.run(command, cwd=workdir, text=True, check=False)
    wall = time.monotonic() - tick
    if run.returncode:
        sys.exit(f"the demo run failed (exit {run.returncode})")

    from mlflow import MlflowClient

    from orchestrator.config import load_config
    from workers.policy_model.bootstrap import ensure_model

    cfg = load_config(ROOT / "configs" / "demo.yaml", args.overrides)
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    (found,) = client.search_runs([client.get_experiment_by_name(cfg.tracking.experiment).experiment_id])
    history = {k: [m.value for m in sorted(client.get_metric_history(found.info.run_id, k), key=lambda m: m.step)]
               for k in ("curriculum/pass_rate", "curriculum/difficulty")}  # fmt: skip
    low, high = cfg.curriculum.band
    second = history["curriculum/pass_rate"][len(history["curriculum/pass_rate"]) // 2 :]
    checkpoints = sorted((workdir / cfg.workdir / found.info.run_id / "checkpoints").iterdir())
    start = str(ensure_model(cfg.policy.model, cfg.seed, log=lambda _: None))
    result = {
        "wall_s": round(wall, 1),
        "steps": len(history["curriculum/pass_rate"]),
        "in_band_second_half": round(sum(low <= p <= high for p in second) / len(second), 3),
        "difficulty_first": round(history["curriculum/difficulty"][0], 3),
        "difficulty_last": round(history["curriculum/difficulty"][-1], 3),
        "eval_start": evaluate(start, workdir, args.overrides, "start"),
        "eval_end": evaluate(str(checkpoints[-1]), workdir, args.overrides, "end"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
