"""The learner's arithmetic when `algo.precision` is `auto`: bf16 autocast where it is faster.

A GPU computes bf16 natively and always gains. A CPU without native bf16 (no avx512_bf16, AMX or
Arm's bf16) would emulate it: fp32. On a CPU with it, bf16 pays on a model whose matmuls dominate
(`bench/learner.py`: about twice the tokens/s on `small`) but not on one so small that the step is
per-operator overhead, where the casts cost more than they save (the tiny policy's first batch:
0.139 s in bf16, 0.095 s in fp32; a synthetic batch of full rows said the opposite, so the probe
runs on real work). So a lone CPU learner times the forward and backward of its first batch in
both, keeps the faster, and caches the verdict per model shape, thread count and CPU: later runs
decide at start. A sharded group decides by the hardware alone: its ranks must not disagree.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from workers.backends.dtype_choice import NATIVE_BF16_FLAGS, cpu_flags
from workers.policy_model.bootstrap import cache_root

BF16_MARGIN = 0.9
"""bf16 is taken when its time is under this share of fp32's: a tie is not worth the rounding."""


@dataclass(frozen=True)
class PrecisionChoice:
    precision: str
    reason: str


def needs_probe(requested: str, flags: frozenset[str], gpu: bool, grouped: bool) -> bool:
    return requested == "auto" and not gpu and not grouped and bool(flags & NATIVE_BF16_FLAGS)


def choose_learner_precision(
    requested: str, flags: frozenset[str], gpu: bool, seconds: dict[str, float] | None
) -> PrecisionChoice:
    """`seconds`: an update's forward and backward timed in each precision (None: decide by the
    hardware alone, as a group does)."""
    if requested != "auto":
        return PrecisionChoice(requested, "set by algo.precision")
    if gpu:
        return PrecisionChoice("bf16", "auto: a GPU computes bf16 natively")
    native = sorted(flags & NATIVE_BF16_FLAGS)
    if not native:
        return PrecisionChoice("fp32", "auto: this CPU has no native bf16: it would be emulated")
    if seconds is None:
        return PrecisionChoice("bf16", f"auto: this CPU computes bf16 natively ({', '.join(native)})")
    verdict = "bf16" if seconds["bf16"] < BF16_MARGIN * seconds["fp32"] else "fp32"
    return PrecisionChoice(
        verdict,
        f"auto: this model's forward and backward took {seconds['bf16']:.3f} s in bf16, {seconds['fp32']:.3f} s "
        f"in fp32 (native bf16: {', '.join(native)})",
    )


def probe_key(model_config: dict, threads: int, flags: frozenset[str]) -> str:
    """What the verdict depends on: the model's shape and whatever else changes an update's cost
    (the caller adds LoRA, shared prompts and activation checkpointing to `model_config`), the
    threads, the CPU's bf16 support, torch."""
    shape = json.dumps(
        {
            "config": {k: v for k, v in model_config.items() if k not in ("_name_or_path", "transformers_version")},
            "threads": threads,
            "native": sorted(flags & NATIVE_BF16_FLAGS),
            "torch": torch.__version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(shape.encode()).hexdigest()[:16]


def read_probe(path: Path) -> dict[str, float] | None:
    """A cached verdict's seconds; None where there is none (or it cannot be read)."""
    try:
        seconds = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return seconds if isinstance(seconds, dict) and {"fp32", "bf16"} <= seconds.keys() else None


def write_probe(path: Path, seconds: dict[str, float]) -> str | None:
    """Cache a verdict; what went wrong where it could not be (the probe's verdict still holds,
    the next learner probes again)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(seconds))
    except OSError as exc:
        return f"the verdict was not cached ({path.parent}: {exc.strerror or exc}); the next learner probes again"
    return None


PROBE_PASSES = 3


def time_update_passes(step: Callable[[str], None], repeats: int = PROBE_PASSES) -> dict[str, float]:
    """The median of `repeats` timed calls of `step(precision)` (a forward and backward) for each
    precision, after one warm-up of each; the precisions alternate, so a machine whose speed
    drifts during the probe drifts under both."""
    for precision in ("fp32", "bf16"):
        step(precision)
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(repeats):
        for precision in ("fp32", "bf16"):
            tick = time.perf_counter()
            step(precision)
            times[precision].append(time.perf_counter() - tick)
    return {precision: statistics.median(values) for precision, values in times.items()}


class AutoPrecision:
    """A learner's precision: decided at start (pinned by a resumed run's checkpoint, set by the
    config, a GPU, no native bf16, a group, a cached verdict), or by `probe` on the learner's first
    batch; fp32 until then."""

    def __init__(self, requested: str, model_config: dict, gpu: bool, grouped: bool, pinned: bool = False):
        self.requested, self.gpu = requested, gpu
        self.flags = cpu_flags()
        self.path: Path | None = None
        if pinned:
            if requested not in ("fp32", "bf16"):
                raise ValueError(f"a pinned precision must be fp32 or bf16, not {requested!r}")
            self.choice: PrecisionChoice | None = PrecisionChoice(
                requested, "pinned: the precision this run chose, from its checkpoint"
            )
            return
        seconds = None
        if needs_probe(requested, self.flags, gpu, grouped):
            key = probe_key(model_config, torch.get_num_threads(), self.flags)
            self.path = cache_root() / "probes" / "learner-precision" / f"{key}.json"
            seconds = read_probe(self.path)
        pending = self.path is not None and seconds is None
        self.choice = None if pending else choose_learner_precision(requested, self.flags, gpu, seconds)

    @property
    def precision(self) -> str:
        return self.choice.precision if self.choice is not None else "fp32"

    def probe(self, step: Callable[[str], None]) -> None:
        """Decide by timing `step(precision)`, a forward and backward of the first batch; the
        verdict is cached for the next learner of this shape on this machine."""
        assert self.path is not None
        seconds = time_update_passes(step)
        problem = write_probe(self.path, seconds)
        choice = choose_learner_precision(self.requested, self.flags, self.gpu, seconds)
        self.choice = choice if problem is None else PrecisionChoice(choice.precision, f"{choice.reason}; {problem}")
