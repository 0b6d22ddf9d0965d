"""Helpers shared by the benchmark scripts (each prints one JSON object on its last line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

GOLDILOCKS = str(Path(sys.executable).with_name("goldilocks"))
"""The CLI of the environment the bench runs in."""
SERVED_TINY = [
    "simulator.name=llm",
    "simulator.model=tiny",
    "simulator.serve.num_workers=2",
    "simulator.serve.num_cpus=0.5",
    "simulator.serve.max_model_len=1024",
    "rollout.groups_per_step=8",
]
"""The demo job with its user played by the tiny model, served by two simulator servers in the run;
8 groups a step keep a step's ~200 simulator requests to seconds on 2 cores."""


def opening_prompts(model_dir: str, n: int) -> list[list[int]]:
    """The token ids of n real dialogue openings (the first thing a rollout generates from)."""
    from transformers import AutoTokenizer

    from workers.chat_format import opening_segment
    from workers.env.phrases import phrase_bank
    from workers.env.scenarios.english_scenarios import english_split
    from workers.env.users.rule_simulator import RuleSimulator

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


def eval_levels(what: list[str], levels: str, limit: int, overrides: list[str], out: Path, cwd: Path) -> list[dict[str, Any]]:
    """`goldilocks eval` (the demo's config) of `--checkpoint DIR` or `--policy SPEC`, in its own
    process: the report's per-level entries (score, success_rate, ...), also left in `out`."""
    sets = [arg for key in overrides for arg in ("--set", key)]
    command = [str(Path(sys.executable).with_name("goldilocks")), "eval", *what, "--levels", levels, "--limit", str(limit)]
    subprocess.run([*command, "--out", str(out), *sets], cwd=cwd, check=True, capture_output=True, text=True)
    return json.loads(out.read_text())["levels"]


def commit() -> str:
    """The checkout's short commit, or `unknown` outside git."""
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent)
    return out.stdout.strip() or "unknown"


def machine() -> str:
    """The CPU a measurement ran on: cores, model, and the flags that decide its dtypes."""
    from workers.backends.dtype_choice import cpu_flags

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    shown = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
    return f"{os.cpu_count()} x {model}; {' '.join(shown)}"


def synthetic_batch(vocab: int, rows: int, max_len: int, seed: int):
    """Rows of lengths spread over [max_len / 2, max_len]; the second half of each row is policy
    tokens (a reply), the rest context."""
    import numpy as np

    from workers.types import TokenSequence, TrainBatch

    rng = np.random.default_rng(seed)
    seqs = []
    for length in np.linspace(max_len // 2, max_len, rows).astype(int):
        ids = rng.integers(3, vocab, length).tolist()
        half = length // 2
        seqs.append(TokenSequence(ids, [0] * half + [1] * (length - half), [0.0] * length))
    batch = TrainBatch.from_sequences(seqs, rng.standard_normal(rows).tolist())
    batch.rollout_logprobs = np.zeros_like(batch.rollout_logprobs)
    return batch
