"""Weight-sync cost vs model size, through Ray as in training.

    python bench/sync.py [--sizes tiny,small] [--repeats 5]

Per size: a local Ray cluster with one learner actor and one vLLM rollout-worker actor; each
repeat takes the learner's full state (lm_head included) through the object store into the
worker's engine (`reload_weights` + prefix-cache reset). Prints ms per sync and parameter count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import run_isolated


def measure(size: str, repeats: int) -> dict:
    import ray

    from orchestrator.cluster.placement import reserve
    from orchestrator.cluster.ray_session import ray_session
    from orchestrator.cluster.run_actors import start_actors
    from orchestrator.config import load_config
    from workers.policy_model.bootstrap import ensure_model

    model_dir = str(ensure_model(size, 0, log=lambda m: print(m, file=sys.stderr)))
    cfg = load_config(None, [])
    with ray_session(cfg), reserve(cfg, lambda m: None) as placement:
        (worker,), learner = start_actors(cfg, model_dir, model_dir, placement)
        dtype = ray.get(worker.rollout_dtype.remote()).dtype
        ray.get(worker.update_weights.remote(learner.weights(dtype)[0]))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            ray.get(worker.update_weights.remote(learner.weights(dtype)[0]))
            times.append((time.perf_counter() - start) * 1000)
        params = learner.call("num_parameters")
    return {"params": params, "sync_ms": statistics.median(times), "sync_ms_max": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="tiny,small")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.repeats)))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = {}
    for size in args.sizes.split(","):
        result[size] = run_isolated(__file__, "--one", size, "--repeats", str(args.repeats))
        print(f"{size:>6}: {result[size]['params'] / 1e6:6.2f}M params  {result[size]['sync_ms']:8.1f} ms", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
