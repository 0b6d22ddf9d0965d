"""`policy.dtype: auto` by the CPU's flag set, whatever machine runs the test."""

import pytest

from workers.backends.dtype_choice import choose_rollout_dtype, cpu_flags

AVX2_ONLY = frozenset({"sse4_2", "avx", "avx2", "fma"})
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512_bf16"}
SAPPHIRE_RAPIDS = AVX2_ONLY | {"avx512f", "amx_bf16", "amx_tile"}
GRAVITON3 = frozenset({"fp", "asimd", "sve", "bf16", "i8mm"})


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(AVX2_ONLY, "float32"), (AVX512_BF16, "bfloat16"), (SAPPHIRE_RAPIDS, "bfloat16"), (GRAVITON3, "bfloat16")],
)
def test_auto_takes_bf16_only_where_the_cpu_computes_it_natively(flags, expected):
    choice = choose_rollout_dtype("auto", flags, gpu=False)
    assert choice.dtype == expected and choice.reason.startswith("auto: ")
    if expected == "float32":
        assert "no native bf16" in choice.reason


def test_a_gpu_gets_bf16_and_an_explicit_dtype_is_kept():
    assert choose_rollout_dtype("auto", AVX2_ONLY, gpu=True).dtype == "bfloat16"
    explicit = choose_rollout_dtype("bfloat16", AVX2_ONLY, gpu=False)
    assert explicit.dtype == "bfloat16" and explicit.reason == "set by policy.dtype"


def test_cpu_flags_are_read_from_x86_and_arm_cpuinfo(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\nCPU implementer\t: 0x41\n")
    assert cpu_flags(x86) == {"fpu", "avx2", "avx512_bf16"} and cpu_flags(arm) == {"fp", "asimd", "bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()
