"""Sticky routing against least-loaded for the served simulator: the prompt tokens its servers
prefill a step and the step time, with two served tiny users and 8-turn dialogues.

    python bench/sticky_routing.py [--steps 4] [--repeats 2] [--out DIR] [--set key=value ...]

Each routing runs `repeats` times as its own `goldilocks run` (the demo job, its `llm` user
served by two tiny simulator servers in the run), in the order S L L S ..., so drift of the
machine falls on both alike. Every run draws the same users and the same request seeds. Per run,
from MLflow, over the steps after the first (the first also warms the servers up):
`prefill_tokens` (summed over both servers: prompt tokens computed, not found in a prefix cache),
`prompt_tokens` (what the simulator was asked), `hit_rate` = 1 - prefill / prompt,
`switched_frac` (requests answered by another server than their dialogue's last), `step_s`
and `simulate_s` (medians). The last line is one JSON object with each routing's medians over its
runs and the sticky / least-loaded ratios.

Eight turns of a dialogue outgrow tiny's 1024 positions, so its servers run with a 4096-token
context (VLLM_ALLOW_LONG_MAX_MODEL_LEN): what the user says past 1024 tokens is noise, which
matters not at all to what is measured here, the prompt tokens and where they are computed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import GOLDILOCKS, SERVED_TINY, commit, machine

SERVED = [
    *SERVED_TINY,
    "simulator.serve.max_model_len=4096",
    "simulator.max_turns=8",
    "trainer.eval_every=0",
    "trainer.checkpoint_every=0",
]
ROUTINGS = ("sticky", "least_loaded")


def one_run(routing: str, steps: int, overrides: list[str], out: Path) -> dict[str, float]:
    out.mkdir(parents=True)
    sets = [f"trainer.steps={steps}", *SERVED, *overrides, f"simulator.serve.routing={routing}"]
    command = [GOLDILOCKS, "run", *(arg for s in sets for arg in ("--set", s))]
    tick = time.perf_counter()
    with (out / "cli.log").open("w") as log:
        env = {**os.environ, "VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1"}
        code = subprocess.run(command, cwd=out, stdout=log, stderr=subprocess.STDOUT, env=env, check=False).returncode
    if code != 0:
        raise SystemExit(f"the {routing} run failed (exit {code}); see {out / 'cli.log'}")
    wall_s = time.perf_counter() - tick
    client = MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])

    def per_step(key: str) -> dict[int, float]:
        return {m.step: m.value for m in client.get_metric_history(run.info.run_id, key)}

    later = range(1, steps)
    prefill = [sum(per_step(f"simulator/server_{i}/prefill_tokens").get(t, 0.0) for i in (0, 1)) for t in later]
    prompt = [per_step("simulator/prompt_tokens")[t] for t in later]
    step_s, simulate_s = per_step("perf/step_s"), per_step("perf/simulate_s")
    switched, requests = per_step("simulator/switched_requests"), per_step("simulator/requests")
    return {
        "switched_frac": sum(switched[t] for t in later) / sum(requests[t] for t in later),
        "prefill_tokens": statistics.median(prefill),
        "prompt_tokens": statistics.median(prompt),
        "hit_rate": 1 - sum(prefill) / sum(prompt),
        "step_s": statistics.median(step_s[t] for t in later),
        "simulate_s": statistics.median(simulate_s[t] for t in later),
        "wall_s": wall_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2: the first step warms the servers and is not measured")
    out = args.out or Path(tempfile.mkdtemp(prefix="gl-sticky-"))
    order = [ROUTINGS[(i + i // 2) % 2] for i in range(2 * args.repeats)]  # S L L S S L ...
    runs: dict[str, list[dict[str, float]]] = {r: [] for r in ROUTINGS}
    for i, routing in enumerate(order):
        print(f"run {i + 1}/{len(order)}: {routing}, {args.steps} steps", flush=True)
        measured = one_run(routing, args.steps, args.overrides, out / f"{i}-{routing}")
        print(f"  {json.dumps({k: round(v, 3) for k, v in measured.items()})}", flush=True)
        runs[routing].append(measured)
    medians = {r: {k: statistics.median(m[k] for m in runs[r]) for k in runs[r][0]} for r in ROUTINGS}
    ratio = {k: medians["sticky"][k] / medians["least_loaded"][k] for k in ("prefill_tokens", "step_s", "simulate_s")}
    result = {
        "bench": "sticky_routing",
        "machine": machine(),
        "commit": commit(),
        "steps": args.steps,
        "measured_steps": f"1-{args.steps - 1}",
        "order": order,
        "runs": runs,
        "median": medians,
        "sticky_over_least_loaded": ratio,
        "overrides": args.overrides,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
