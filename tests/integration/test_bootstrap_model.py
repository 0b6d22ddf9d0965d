import json

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from workers.chat_format import IM_END
from workers.env.scorer.fluency import english_share
from workers.env.scorer.reply_text import text_facts
from workers.policy_model.bootstrap import ensure_model, recipe_key

pytestmark = pytest.mark.slow


def test_tiny_policy_is_a_word_like_qwen2_with_chatml(tiny_model):
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    tok = AutoTokenizer.from_pretrained(tiny_model)
    n = sum(p.numel() for p in model.parameters())
    assert model.config.model_type == "qwen2" and 0.5e6 <= n <= 2e6
    assert tok.eos_token == IM_END
    prompt = tok.apply_chat_template(
        [{"role": "system", "content": "s"}, {"role": "user", "content": "I just need to vent for a while."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert prompt.endswith("<|im_start|>assistant\n")
    ids = tok(prompt, return_tensors="pt").input_ids
    replies = []
    for seed in range(8):
        import torch

        torch.manual_seed(seed)
        out = model.generate(ids, do_sample=True, max_new_tokens=40, top_k=0, eos_token_id=tok.eos_token_id)
        replies.append(tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
    word_like = [r for r in replies if text_facts(r).words and english_share(text_facts(r).words) >= 0.85]
    assert len(word_like) >= 6, replies  # English words; whether they fit a need is RL's to learn


def test_cache_is_reused_and_out_copies(tiny_model, tmp_path):
    meta = json.loads(open(f"{tiny_model}/goldilocks.json").read())
    assert meta["seed"] == 0
    messages = []
    out = ensure_model("tiny", 0, out=tmp_path / "copy", log=messages.append)
    assert any("cached" in m for m in messages)
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert recipe_key("tiny", 0) != recipe_key("tiny", 1)
    with pytest.raises(FileExistsError, match="not empty"):
        ensure_model("tiny", 0, out=tmp_path / "copy", log=messages.append)
