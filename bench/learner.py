"""Learner throughput and memory by mode, on one batch: fp32 (today's single process), bf16
autocast, LoRA, and a 2-rank FSDP2 group (gloo, one thread a rank), with `goldilocks plan`'s
estimate beside each measured peak.

    python bench/learner.py [--model small] [--updates 3] [--rows 32] [--max-len 512] [--set key=value ...]

Each mode runs in fresh processes: the baseline is a process's resident memory once torch,
transformers and the learner are imported; the peak is its high-water mark (VmHWM) after the
updates. tokens/s counts every token of the batch (prompt and user tokens are computed too) over
the timed updates (the first update, which allocates Adam's state, is not timed). The learner's
settings are the default config's (`--set algo.*` changes them). Last line:
`{"modes": {MODE: {"tokens_per_s", "peak_rss_mb_per_rank", "rss_growth_mb", "plan_mb"}}, ...}`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, synthetic_batch

MODES = {
    "fp32": ([], 1),
    "bf16": (["algo.precision=bf16"], 1),
    "lora": (["policy.lora.rank=16"], 1),
    "fsdp2": (["resources.learner.num_workers=2"], 2),
}


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def worker(args) -> None:
    import torch  # noqa: F401  (in the baseline)

    from orchestrator.config import load_config
    from orchestrator.model_sources import resolve_model
    from workers.fsdp_group import GroupSpec
    from workers.learner import Learner

    config = load_config(None, [f"policy.model={args.model}", *args.overrides])
    model_dir = resolve_model(args.model, config.seed, log=lambda message: None)
    baseline = rss_mb("VmRSS")
    group = GroupSpec(args.rank, args.world, "127.0.0.1", args.port) if args.world > 1 else None
    learner = Learner(model_dir, config.learner_settings(), seed=0, threads=args.threads, group=group)
    batch = synthetic_batch(learner.model.config.vocab_size, args.rows, args.max_len, seed=0)
    learner.update(batch)
    start = time.perf_counter()
    for _ in range(args.updates):
        learner.update(batch)
    seconds = time.perf_counter() - start
    peak = rss_mb("VmHWM")
    tokens = int(batch.lengths.sum()) * args.updates
    learner.close()
    print(json.dumps({"tokens_per_s": tokens / seconds, "peak_rss_mb": peak, "rss_growth_mb": peak - baseline}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(mode: str, args) -> dict:
    overrides, world = MODES[mode]
    threads = max(1, (os.cpu_count() or 1) // world)
    port = free_port()
    base = [sys.executable, __file__, "--worker", "--model", args.model, "--updates", str(args.updates)]
    base += ["--rows", str(args.rows), "--max-len", str(args.max_len), "--threads", str(threads)]
    base += ["--world", str(world), "--port", str(port)]
    base += [f"--set={s}" for s in [*args.overrides, *overrides]]
    procs = [
        subprocess.Popen([*base, "--rank", str(r)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in range(world)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{mode} rank failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "tokens_per_s": results[0]["tokens_per_s"],
        "peak_rss_mb_per_rank": max(r["peak_rss_mb"] for r in results),
        "rss_growth_mb": max(r["rss_growth_mb"] for r in results),
        "plan_mb": plan_mb(args, overrides),
    }


def plan_mb(args, overrides: list[str]) -> float:
    """The plan's learner estimate for this mode, with the batch's longest row as the context limit."""
    from orchestrator.config import load_config
    from orchestrator.memory_plan import learner_parts, learner_setup, read_shape

    config = load_config(None, [f"policy.model={args.model}", *args.overrides, *overrides])
    setup = replace(learner_setup(config), max_len=args.max_len)
    return sum(learner_parts(read_shape(args.model), setup).values()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="small")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=512)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rank", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--world", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    modes = {}
    for mode in args.modes.split(","):
        print(f"{mode}: measuring", file=sys.stderr, flush=True)
        modes[mode] = measure(mode, args)
        m = modes[mode]
        print(
            f"{mode:6s} {m['tokens_per_s']:9.0f} tokens/s  peak {m['peak_rss_mb_per_rank']:7.0f} MB/rank  "
            f"growth {m['rss_growth_mb']:7.0f} MB  plan {m['plan_mb']:7.0f} MB ({m['plan_mb'] / m['rss_growth_mb'] - 1:+.0%})",
            flush=True,
        )
    fp32 = modes.get("fp32")
    ratios = (
        {
            mode: {
                "tokens_per_s": m["tokens_per_s"] / fp32["tokens_per_s"],
                "peak_rss": m["peak_rss_mb_per_rank"] / fp32["peak_rss_mb_per_rank"],
            }
            for mode, m in modes.items()
        }
        if fp32
        else {}
    )
    plan_error = {mode: m["plan_mb"] / m["rss_growth_mb"] - 1 for mode, m in modes.items()}
    print(
        json.dumps(
            {
                "model": args.model,
                "cpu": machine(),
                "modes": modes,
                "ratios_vs_fp32": ratios,
                "plan_error": plan_error,
            }
        )
    )


if __name__ == "__main__":
    main()
