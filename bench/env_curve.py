"""The `rule` user's difficulty knob, measured: pass rate and mean final emotion by d per policy.

    python bench/env_curve.py [--step 0.05] [--seeds 0,1,2] [--max-turns 3]

Every scenario of the English bank (both splits) x each seed, the same draws at every d, against
the scripted policies `matching` (reads the cues), `noisy80` / `noisy50` (fit on 4/5 or 1/2 of
their turns), `generic`, `advice`, `random` and `stuffing`. Also times the strategy scorer on
fresh replies (microseconds per reply, the classifier's cache bypassed). Last line: one JSON
object {"pass_rate": {POLICY: {D: p}}, "reward": {POLICY: {D: r}}, "judge_us": t, "cpu": ...}.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from orchestrator.evaluation import PASS_THRESHOLD, final_emotions
from workers.env.scripted_policies import SCRIPTED_POLICIES, scripted_policy

POLICIES = ("matching", "noisy80", "noisy50", "generic", "advice", "random", "stuffing")


def cpu_flags() -> str:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return platform.processor()
    return " ".join(f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"))


def judge_microseconds(n: int = 2000) -> float:
    from workers.env.phrases import phrase_bank
    from workers.env.strategy_scorer import _judge, judge_reply

    replies = [r for s in phrase_bank().strategies.values() for r in s.replies]
    judge_reply(replies[0])
    texts = [f"{replies[i % len(replies)]} ({i})" for i in range(n)]
    _judge.cache_clear()
    tick = time.perf_counter()
    for t in texts:
        judge_reply(t)
    return (time.perf_counter() - tick) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--step", type=float, default=0.05)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-turns", type=int, default=3)
    args = parser.parse_args()
    levels = np.round(np.arange(0, 1 + 1e-9, args.step), 4)
    seeds = [int(s) for s in args.seeds.split(",")]
    pass_rate: dict[str, dict[str, float]] = {}
    reward: dict[str, dict[str, float]] = {}
    for name in POLICIES:
        assert name in SCRIPTED_POLICIES
        finals = final_emotions(scripted_policy(name), levels, seeds=seeds, max_turns=args.max_turns)
        passed = (finals >= PASS_THRESHOLD).mean(axis=1)
        pass_rate[name] = {f"{d:.2f}": round(float(p), 4) for d, p in zip(levels, passed, strict=True)}
        reward[name] = {f"{d:.2f}": round(float(r), 2) for d, r in zip(levels, finals.mean(axis=1), strict=True)}
        print(f"{name:9s} {finals.shape[1]} dialogues a point", flush=True)
    print(f"\npass rate (final emotion >= {PASS_THRESHOLD:g}) / mean final emotion, by d:")
    print("d     " + "".join(f"{n:>17s}" for n in POLICIES))
    for d in levels:
        key = f"{d:.2f}"
        print(key + "  " + "".join(f"{pass_rate[n][key]:9.2f} {reward[n][key]:6.1f} " for n in POLICIES))
    judge_us = judge_microseconds()
    print(f"\nstrategy scorer: {judge_us:.0f} us a reply; CPU flags: {cpu_flags()}")
    print(json.dumps({"pass_rate": pass_rate, "reward": reward, "judge_us": round(judge_us, 1), "cpu": cpu_flags()}))


if __name__ == "__main__":
    main()
