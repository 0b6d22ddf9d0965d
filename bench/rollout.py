"""Generation throughput: vLLM vs the HF reference backend on the same prompts.

    python bench/rollout.py [--sizes tiny,small] [--batch 64] [--new-tokens 64] [--repeats 3]

Both backends decode exactly --new-tokens tokens per prompt (EOS ignored) from the same real
dialogue openings, in float32, after one warm-up call. Prints tokens/s per size and backend, and
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


def measure(size: str, backend: str, batch: int, new_tokens: int, repeats: int) -> dict:
    from workers.backends import SamplingConfig, make_backend
    from workers.policy_model.bootstrap import ensure_model

    model_dir = str(ensure_model(size, 0, log=lambda m: print(m, file=sys.stderr)))
    prompts = opening_prompts(model_dir, batch)
    engine = make_backend(backend, model_dir, max_model_len=512, dtype="float32", seed=0)
    sampling = SamplingConfig(max_new_tokens=new_tokens, ignore_eos=True)
    engine.generate(prompts[:4], sampling)
    times, tokens = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        out = engine.generate(prompts, sampling)
        times.append(time.perf_counter() - start)
        tokens = sum(len(g.token_ids) for g in out)
    return {"tokens_per_s": tokens / (sum(times) / len(times)), "tokens_per_call": tokens, "call_s": min(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="tiny,small")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        size, backend = args.one.split(":")
        print(json.dumps(measure(size, backend, args.batch, args.new_tokens, args.repeats)))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result: dict = {}
    for size in args.sizes.split(","):
        for backend in ("vllm", "hf"):
            common = ["--batch", str(args.batch), "--new-tokens", str(args.new_tokens), "--repeats", str(args.repeats)]
            figures = run_isolated(__file__, "--one", f"{size}:{backend}", *common)
            result.setdefault(size, {})[backend] = figures
            print(f"{size:>6} {backend:>5}: {figures['tokens_per_s']:9.0f} tokens/s", file=sys.stderr)
        result[f"vllm_over_hf_{size}"] = result[size]["vllm"]["tokens_per_s"] / result[size]["hf"]["tokens_per_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
