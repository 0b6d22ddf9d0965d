"""Generation throughput: vLLM vs the HF reference backend on the same prompts, in every dtype.

    python bench/rollout.py [--sizes tiny,small] [--dtypes float32,bfloat16] [--batch 64]
                            [--new-tokens 64] [--repeats 3]

Each backend decodes exactly --new-tokens tokens per prompt (EOS ignored) from the same real
dialogue openings, after one warm-up call, in each dtype, each in a fresh process. Which dtype is
fastest depends on the CPU (native bf16 needs avx512_bf16 or AMX), so the comparison is best
against best: `vllm_over_hf_<size>` divides vLLM's best tokens/s by HF's best. Also prints the CPU
flags that decide it and what `policy.dtype: auto` would choose here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import opening_prompts, run_isolated


def measure(size: str, backend: str, dtype: str, batch: int, new_tokens: int, repeats: int) -> dict:
    from workers.backends import SamplingConfig, make_backend
    from workers.policy_model.bootstrap import ensure_model

    model_dir = str(ensure_model(size, 0, log=lambda m: print(m, file=sys.stderr)))
    prompts = opening_prompts(model_dir, batch)
    engine = make_backend(backend, model_dir, max_model_len=512, dtype=dtype, seed=0)
    sampling = SamplingConfig(max_new_tokens=new_tokens, ignore_eos=True)
    engine.generate(prompts[:4], sampling)
    times, tokens = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        out = engine.generate(prompts, sampling)
        times.append(time.perf_counter() - start)
        tokens = sum(len(g.token_ids) for g in out)
    mean_s = sum(times) / len(times)
    return {"tokens_per_s": tokens / mean_s, "tokens_per_call": tokens, "call_s": min(times), "dtype": dtype}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="tiny,small")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        size, backend, dtype = args.one.split(":")
        print(json.dumps(measure(size, backend, dtype, args.batch, args.new_tokens, args.repeats)))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from workers.backends.dtype_choice import NATIVE_BF16_FLAGS, choose_rollout_dtype, cpu_flags

    flags = cpu_flags()
    result: dict = {
        "cpu_flags": sorted(flags & (NATIVE_BF16_FLAGS | {"avx2", "avx512f", "amx_tile"})),
        "auto_dtype": choose_rollout_dtype("auto", flags, gpu=False).dtype,
    }
    common = ["--batch", str(args.batch), "--new-tokens", str(args.new_tokens), "--repeats", str(args.repeats)]
    for size in args.sizes.split(","):
        best = {}
        for backend in ("vllm", "hf"):
            for dtype in args.dtypes.split(","):
                figures = run_isolated(__file__, "--one", f"{size}:{backend}:{dtype}", *common)
                result.setdefault(size, {}).setdefault(backend, {})[dtype] = figures["tokens_per_s"]
                print(f"{size:>6} {backend:>5} {dtype:>8}: {figures['tokens_per_s']:9.0f} tokens/s", file=sys.stderr)
            best[backend] = max(result[size][backend].values())
        result[f"vllm_over_hf_{size}"] = best["vllm"] / best["hf"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
