"""Helpers shared by the benchmark scripts (each prints one JSON object on its last line)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def opening_prompts(model_dir: str, n: int) -> list[list[int]]:
    """The token ids of n real dialogue openings (the first thing a rollout generates from)."""
    from transformers import AutoTokenizer

    from workers.chat_format import opening_segment
    from workers.env.english_scenarios import english_split
    from workers.env.phrases import phrase_bank
    from workers.env.rule_simulator import RuleSimulator

    tok = AutoTokenizer.from_pretrained(model_dir)
    scenarios = english_split("train")
    prompts = []
    for i in range(n):
        opening = RuleSimulator(max_turns=1, pass_threshold=70).start(scenarios[i % len(scenarios)], 0.2)
        prompts.append(tok.encode(opening_segment(phrase_bank().system_prompt, opening), add_special_tokens=False))
    return prompts


def run_isolated(script: str, *args: str) -> dict[str, Any]:
    """Run one measurement in its own interpreter (one vLLM engine per process) and return the
    JSON object it printed last."""
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
