"""The rollout dtype when `policy.dtype` is `auto`, chosen on the machine the engine runs on.

bf16 halves the bytes of every weight and KV entry, but only hardware that computes it natively
gains from it: a GPU, or a CPU with avx512_bf16 / AMX (x86) or the bf16 extension (Arm). On an
AVX2-only CPU vLLM's bf16 kernels emulate it, and the `small` policy then generated at 0.31x the
speed of fp32 (issue 16's measure), so `auto` takes fp32 there. On a CPU with avx512_bf16,
`bench/rollout.py` measured bf16 faster for both backends (vLLM 2255 vs 1403 tokens/s on `small`,
HF 820 vs 428), so the rule is the same for both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
"""x86's avx512_bf16 and amx_bf16, Arm's bf16 (its /proc/cpuinfo `Features`)."""


@dataclass(frozen=True)
class DtypeChoice:
    dtype: str
    reason: str


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first CPU's feature flags (`flags` on x86, `Features` on Arm); empty where unknown."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return frozenset()
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def choose_rollout_dtype(requested: str, flags: frozenset[str], gpu: bool) -> DtypeChoice:
    if requested != "auto":
        return DtypeChoice(requested, "set by policy.dtype")
    if gpu:
        return DtypeChoice("bfloat16", "auto: a GPU computes bf16 natively")
    native = sorted(flags & NATIVE_BF16_FLAGS)
    if native:
        return DtypeChoice("bfloat16", f"auto: this CPU computes bf16 natively ({', '.join(native)})")
    return DtypeChoice(
        "float32", "auto: this CPU has no native bf16 (no avx512_bf16, amx_bf16 or bf16 flag): it would be emulated"
    )
