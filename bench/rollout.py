"""Generation throughput: vLLM vs the HF reference backend on the same prompts.

    python bench/rollout.py [--sizes tiny,small] [--batch 64] [--new-tokens 64] [--repeats 3]
                            [--vllm-dtype bfloat16] [--hf-dtype float32]

Both backends decode exactly --new-tokens tokens per prompt (EOS ignored) from the same real
dialogue openings, after one warm-up call, each in the dtype it runs best in on CPU by default
(vLLM's CPU kernels are built for bf16; transformers' CPU path is fastest in fp32). Prints tokens/s per size and backend, and
`vllm_over_hf_small`, the speed-up on the ~47M-parameter model.
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
    parser.add_argument("--vllm-dtype", default="bfloat16")
    parser.add_argument("--hf-dtype", default="float32")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        size, backend, dtype = args.one.split(":")
        print(json.dumps(measure(size, backend, dtype, args.batch, args.new_tokens, args.repeats)))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result: dict = {}
    for size in args.sizes.split(","):
        for backend in ("vllm", "hf"):
            common = ["--batch", str(args.batch), "--new-tokens", str(args.new_tokens), "--repeats", str(args.repeats)]
            dtype = args.vllm_dtype if backend == "vllm" else args.hf_dtype
            figures = run_isolated(__file__, "--one", f"{size}:{backend}:{dtype}", *common)
            result.setdefault(size, {})[backend] = figures
            print(f"{size:>6} {backend:>5} {dtype:>8}: {figures['tokens_per_s']:9.0f} tokens/s", file=sys.stderr)
        result[f"vllm_over_hf_{size}"] = result[size]["vllm"]["tokens_per_s"] / result[size]["hf"]["tokens_per_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
