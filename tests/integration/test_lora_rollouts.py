"""LoRA on the rollout side (tests/support/lora_probe.py, in a process of its own): vLLM serves the
base with the learner's adapter, its sampling log-probs match the learner's before and after an
adapter-only sync, and the saved adapter serves through the HF backend too."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_vllm_serves_the_learners_adapter_and_its_logprobs_match(tiny_model, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "tests.support.lora_probe", tiny_model, str(tmp_path / "adapter")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["gap_before"] < 1e-3, "a fresh adapter is a no-op: the base's log-probs"
    assert result["moved"] > 1e-2, "the updates moved the policy away from what vLLM sampled"
    assert result["gap_after"] < 1e-3, "after the adapter sync vLLM samples from the learner's policy"
    assert result["resent_version"] == 3 and result["gap_after_resend"] < 1e-3, "a re-sent sync keeps serving it"
    assert result["version"] == 3 and result["synced_tensors"] == 2 * 4 * 2  # 2 layers x 4 modules x (A, B)
    assert result["gap_hf_from_checkpoint"] < 1e-3
