"""Rollout, learning and weight sync on the token layouts of real checkpoints: Qwen2.5-Instruct's
two stop ids, a tokenizer without a pad token (Llama's), and a bf16 rollout against the fp32
learner. Each runs in its own process (tests/support/checkpoint_probe.py): one vLLM engine each."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workers.chat_format import END_OF_TEXT, IM_END
from workers.policy_model.bootstrap import ensure_model

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def probe(model_dir: Path, dtype: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.checkpoint_probe", str(model_dir), dtype],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def both_stops_model(tiny_model, tmp_path_factory) -> Path:
    """The `qwen-instruct` layout, with <|endoftext|>'s (tied) embedding row set to <|im_end|>'s so
    the policy ends replies with either stop id, about equally: a reply that ends in the second one
    is then common enough to test."""
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer

    out = tmp_path_factory.mktemp("qwen-both-stops")
    shutil.copytree(ensure_model("tiny", 0, log=lambda m: None, layout="qwen-instruct"), out, dirs_exist_ok=True)
    tok = AutoTokenizer.from_pretrained(out)
    weights = load_file(out / "model.safetensors")
    embed = weights["model.embed_tokens.weight"]
    embed[tok.convert_tokens_to_ids(END_OF_TEXT)] = embed[tok.convert_tokens_to_ids(IM_END)]
    save_file({k: v.contiguous() for k, v in weights.items()}, out / "model.safetensors", metadata={"format": "pt"})
    assert torch.equal(load_file(out / "model.safetensors")["model.embed_tokens.weight"], embed)
    return out


def test_replies_ended_by_either_of_two_stop_ids_are_closed_on_template_and_match_the_learner(both_stops_model):
    """vLLM stops on <|endoftext|> as often as on <|im_end|> here: the first is cut and never
    trained on, and every reply is followed by <|im_end|>, sampled or appended."""
    out = probe(both_stops_model, "float32")
    assert len(out["stops"]) == 3  # <|im_end|>, <|im_start|> (a reply never opens a turn) and <|endoftext|>
    assert out["endings"].get(END_OF_TEXT, 0) > 0 and out["endings"].get(IM_END, 0) > 0, out["endings"]
    assert out["trained_stops"] == 0 and out["unclosed"] == 0
    assert out["gap_before"][1] < 1e-3 and out["gap_after_sync"][1] < 1e-3
    assert out["metrics"]["faults/skipped_update"] == 0.0 and out["moved"] > 1e-3 and out["held"] == 1


def test_a_tokenizer_without_pad_and_a_bf16_rollout_train_and_sync(tiny_model):
    """bf16 sampling against the fp32 learner: the mismatch is measured and reported, the update
    stays finite and moves the policy, and the bf16 weights reach the workers."""
    out = probe(ensure_model("tiny", 0, log=lambda m: None, layout="no-pad"), "bfloat16")
    m = out["metrics"]
    assert out["pad_token"] is None
    assert m["faults/skipped_update"] == 0.0 and out["moved"] > 1e-3 and out["held"] == 1
    assert 1e-4 < m["actor/rollout_logprob_diff"] < 0.5
    assert m["actor/rollout_logprob_diff"] == pytest.approx(out["gap_before"][0], rel=1e-3)
    assert out["gap_after_sync"][0] < 0.5
