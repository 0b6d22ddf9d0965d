"""The `rule` user's difficulty knob, measured: pass rate and mean final emotion by d per policy.

    python bench/env_curve.py [--step 0.05] [--seeds 0,1,2] [--max-turns 3] [--intents listen,advise]

Every scenario of the English bank (both splits; `--intents` narrows it, as `simulator.intents`
does) x each seed, the same draws at every d, against the `oracle` (answers the hidden need every
turn: it reads what no policy sees), the scripted policies `expert` (asks what would help while no
cue has shown, then answers the cue), `matching` (reads the cues, never asks), `noisy80` /
`noisy50` (fit on 4/5 or 1/2 of their turns), `generic`, `advice` (need-blind: one strategy for
everyone), `random`, `stuffing` and `ask_only` (a caring question every turn). Then the checks
the knob promises: the expert within 15 points of the oracle at every d, need-blind and matching
falling with d, asking alone below plain comfort. Also times the strategy scorer on fresh replies
(microseconds per reply, the classifier's cache bypassed). Last line: one JSON object
{"pass_rate": {POLICY: {D: p}}, "reward": {POLICY: {D: r}}, "checks": {...}, "judge_us": t,
"cpu": ..., "intents": ...}.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from orchestrator.evaluation.held_out import PASS_THRESHOLD, agent_final_emotions
from orchestrator.evaluation.user_policy import load_policy
from workers.env.scenarios.english_scenarios import english_split

POLICIES = ("oracle", "expert", "matching", "noisy80", "noisy50", "generic", "advice", "random", "stuffing", "ask_only")
CEILING_GAP = 15.0
"""Points the expert may score below the oracle at any d (issue 27's skill ceiling)."""


def knob_checks(reward: dict[str, dict[str, float]]) -> dict[str, float | bool]:
    """What the knob promises, read off the mean final emotion by d."""

    def curve(name: str) -> np.ndarray:
        return np.array(list(reward[name].values()))

    gap = curve("oracle") - curve("expert")
    below = curve("ask_only") - curve("generic")
    return {
        "expert_gap_max": round(float(gap.max()), 2),
        "expert_within_ceiling": bool(gap.max() <= CEILING_GAP),
        "need_blind_falls": bool(np.all(np.diff(curve("advice")) <= 1e-9) and curve("advice")[-1] < curve("advice")[0]),
        "matching_falls": bool(np.all(np.diff(curve("matching")) <= 1e-9) and curve("matching")[-1] < curve("matching")[0]),
        "ask_only_minus_generic_max": round(float(below.max()), 2),
        "ask_only_below_generic": bool(np.all((below < 0) | ((below <= 0) & (curve("generic") == 0)))),
    }


def cpu_flags() -> str:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return platform.processor()
    return " ".join(f for f in flags if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"))


def judge_microseconds(n: int = 2000) -> float:
    from workers.env.phrases import phrase_bank
    from workers.env.scorer.strategy_scorer import _judge, judge_reply

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
    parser.add_argument("--intents", default=None, help="comma-separated needs (default: all eight)")
    args = parser.parse_args()
    levels = np.round(np.arange(0, 1 + 1e-9, args.step), 4)
    seeds = [int(s) for s in args.seeds.split(",")]
    intents = args.intents.split(",") if args.intents else None
    scenarios = [s for s in english_split("all") if intents is None or s.intent in intents]
    pass_rate: dict[str, dict[str, float]] = {}
    reward: dict[str, dict[str, float]] = {}
    for name in POLICIES:
        agent = load_policy(name if name == "oracle" else f"scripted:{name}")
        finals = agent_final_emotions(agent, levels, scenarios, seeds=seeds, max_turns=args.max_turns)
        passed = (finals >= PASS_THRESHOLD).mean(axis=1)
        pass_rate[name] = {f"{d:.2f}": round(float(p), 4) for d, p in zip(levels, passed, strict=True)}
        reward[name] = {f"{d:.2f}": round(float(r), 2) for d, r in zip(levels, finals.mean(axis=1), strict=True)}
        print(f"{name:9s} {finals.shape[1]} dialogues a point", flush=True)
    print(f"\npass rate (final emotion >= {PASS_THRESHOLD:g}) / mean final emotion, by d:")
    print("d     " + "".join(f"{n:>16s} " for n in POLICIES))
    for d in levels:
        key = f"{d:.2f}"
        print(key + "  " + "".join(f"{pass_rate[n][key]:9.2f} {reward[n][key]:6.1f} " for n in POLICIES))
    checks = knob_checks(reward)
    print(
        f"\nexpert below oracle by at most {checks['expert_gap_max']:.1f} points (ceiling {CEILING_GAP:g}); "
        f"ask_only minus generic at most {checks['ask_only_minus_generic_max']:.1f}"
    )
    print("checks: " + ", ".join(f"{k} {v}" for k, v in checks.items() if isinstance(v, bool)))
    judge_us = judge_microseconds()
    print(f"strategy scorer: {judge_us:.0f} us a reply; CPU flags: {cpu_flags()}")
    summary = {"pass_rate": pass_rate, "reward": reward, "checks": checks, "judge_us": round(judge_us, 1)}
    print(json.dumps(summary | {"cpu": cpu_flags(), "intents": intents or "all", "max_turns": args.max_turns}))


if __name__ == "__main__":
    main()
