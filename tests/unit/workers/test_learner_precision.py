import time

import pytest

from workers.learner_precision import (
    AutoPrecision,
    choose_learner_precision,
    needs_probe,
    probe_key,
    read_probe,
    time_update_passes,
    write_probe,
)

NATIVE = frozenset({"avx2", "avx512f", "avx512_bf16"})
AVX2 = frozenset({"avx2", "fma"})


def test_a_set_precision_a_gpu_and_a_cpu_without_native_bf16_need_no_probe():
    assert not needs_probe("fp32", NATIVE, gpu=False, grouped=False)
    assert not needs_probe("auto", NATIVE, gpu=True, grouped=False)
    assert not needs_probe("auto", AVX2, gpu=False, grouped=False)
    assert not needs_probe("auto", NATIVE, gpu=False, grouped=True), "a group's ranks must not disagree"
    assert needs_probe("auto", NATIVE, gpu=False, grouped=False)
    assert choose_learner_precision("fp32", NATIVE, gpu=True, seconds=None).precision == "fp32"
    assert choose_learner_precision("auto", AVX2, gpu=True, seconds=None).precision == "bf16"
    choice = choose_learner_precision("auto", AVX2, gpu=False, seconds=None)
    assert choice.precision == "fp32" and "emulated" in choice.reason
    assert choose_learner_precision("auto", NATIVE, gpu=False, seconds=None).precision == "bf16"


@pytest.mark.parametrize(("seconds", "verdict"), [({"fp32": 1.0, "bf16": 0.5}, "bf16"), ({"fp32": 1.0, "bf16": 0.95}, "fp32")])
def test_on_a_native_bf16_cpu_the_timing_decides_and_a_tie_stays_fp32(seconds, verdict):
    choice = choose_learner_precision("auto", NATIVE, gpu=False, seconds=seconds)
    assert choice.precision == verdict
    assert "avx512_bf16" in choice.reason and f"{seconds['bf16']:.3f}" in choice.reason


def test_a_verdict_is_kept_per_model_shape_threads_and_cpu(tmp_path):
    key = probe_key({"hidden_size": 128, "_name_or_path": "/a"}, 2, NATIVE)
    assert key == probe_key({"hidden_size": 128, "_name_or_path": "/elsewhere"}, 2, NATIVE | {"sse4_2"})
    assert key != probe_key({"hidden_size": 256}, 2, NATIVE) != probe_key({"hidden_size": 128}, 1, NATIVE)
    path = tmp_path / "probes" / f"{key}.json"
    assert read_probe(path) is None
    write_probe(path, {"fp32": 1.0, "bf16": 0.4})
    assert read_probe(path) == {"fp32": 1.0, "bf16": 0.4}
    path.write_text('{"fp32": 1.0}')
    assert read_probe(path) is None, "a verdict without both times is probed again"


def test_the_probe_takes_the_median_of_three_alternating_passes_after_a_warm_up():
    calls = []
    cost = {"fp32": iter([9.0, 0.01, 0.02, 5.0]), "bf16": iter([9.0, 0.03, 0.01, 0.02])}

    def step(precision):
        calls.append(precision)
        time.sleep(next(cost[precision]) / 1000)

    seconds = time_update_passes(step)
    assert calls == ["fp32", "bf16"] + ["fp32", "bf16"] * 3
    assert seconds["fp32"] < 0.004 and seconds["bf16"] < 0.004, "the warm-up and one slow pass do not count"


def test_a_pinned_precision_is_kept_as_the_checkpoint_recorded_it():
    pinned = AutoPrecision("bf16", {"hidden_size": 8}, gpu=False, grouped=False, pinned=True)
    assert pinned.precision == "bf16" and pinned.path is None and "pinned" in pinned.choice.reason
    with pytest.raises(ValueError, match="fp32 or bf16"):
        AutoPrecision("auto", {}, gpu=False, grouped=False, pinned=True)


def test_a_verdict_that_cannot_be_cached_says_so(tmp_path):
    (tmp_path / "file").write_text("")
    assert "not cached" in write_probe(tmp_path / "file" / "key.json", {"fp32": 1.0, "bf16": 2.0})
    assert write_probe(tmp_path / "ok" / "key.json", {"fp32": 1.0, "bf16": 2.0}) is None
