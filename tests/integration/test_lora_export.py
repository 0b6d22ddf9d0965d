"""`goldilocks export`'s merge: the adapter folded into its base, saved in the base's own dtype."""

import json

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

from workers.lora_adapter import export_merged, with_lora
from workers.lora_config import LoraConfig

pytestmark = pytest.mark.slow


def test_a_bf16_base_exports_in_bf16_with_the_adapters_effect(tiny_model, tmp_path):
    base_dir, adapter_dir = tmp_path / "base-bf16", tmp_path / "adapter"
    AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.bfloat16).save_pretrained(base_dir)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(base_dir)
    model = with_lora(
        AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32),
        LoraConfig(rank=4, alpha=8, target_modules=["q_proj"]),
    )
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.fill_(1.0)  # a fresh adapter is a no-op; this one changes q_proj
    model.save_pretrained(adapter_dir)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(adapter_dir)
    x = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        expected = model(input_ids=x).logits

    out = export_merged(str(adapter_dir), tmp_path / "merged")
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    with safe_open(str(out / "model.safetensors"), framework="pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.bfloat16}
    merged = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    with torch.no_grad():
        got = merged(input_ids=x).logits
        bare = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)(input_ids=x).logits
    # bf16 rounding of the merged weights, well below what the adapter changes
    assert (got - expected).abs().max() < 0.2 * (bare - expected).abs().max()
