"""LoRA through PEFT: the policy as a frozen base plus a small trained adapter.

What changes when `policy.lora` is set: the learner trains the adapter only (AdamW's state is the
adapter's size), the KL reference is the same base with the adapter switched off (no second copy
of the model), a weight sync ships the adapter alone, and a checkpoint is an adapter directory
(PEFT's format: `adapter_config.json` naming the base model's directory, and the adapter's
tensors) that the learner, the rollout workers and `goldilocks eval` load on top of that base;
`goldilocks export` merges it into a plain model directory."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from workers.lora_config import LoraConfig

ADAPTER_CONFIG = "adapter_config.json"


def is_adapter_dir(path: str | Path) -> bool:
    return (Path(path) / ADAPTER_CONFIG).is_file()


def base_model_dir(adapter_dir: str | Path) -> str:
    """The base model an adapter directory was trained on (its config names it: a directory, or a
    hub id whose local snapshot is used)."""
    from workers.backends.model_files import local_model_dir

    config = json.loads((Path(adapter_dir) / ADAPTER_CONFIG).read_text())
    base = config.get("base_model_name_or_path")
    try:
        return str(local_model_dir(base).resolve()) if base else ""
    except Exception as exc:
        raise FileNotFoundError(f"{adapter_dir}: the adapter's base model {base!r} is not here ({exc})") from None


def adapter_rank(adapter_dir: str | Path) -> int:
    return int(json.loads((Path(adapter_dir) / ADAPTER_CONFIG).read_text())["r"])


def with_lora(model, settings: LoraConfig):
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    config = PeftLoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        target_modules=list(settings.target_modules),
        lora_dropout=settings.dropout,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def load_policy(path: str, dtype: torch.dtype, trainable: bool, lora: LoraConfig | None = None):
    """A model directory as a causal LM; an adapter directory as its base with the adapter on;
    a plain directory with `lora` given: that model with a fresh adapter (a run's start)."""
    from transformers import AutoModelForCausalLM

    if is_adapter_dir(path):
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(base_model_dir(path), dtype=dtype)
        return PeftModel.from_pretrained(base, path, is_trainable=trainable)
    if lora is None:
        return AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    from workers.backends.model_files import local_model_dir

    # The adapter's config records the base as loaded: an absolute local directory, so that a
    # checkpoint resumes from any working directory (a Ray job's is a copy) and without a hub.
    return with_lora(AutoModelForCausalLM.from_pretrained(str(local_model_dir(path).resolve()), dtype=dtype), lora)


def adapter_tensors(model, dtype: torch.dtype, state: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The adapter's weights, on CPU in `dtype`, under PEFT's saved names; taken from `state`
    (the model's whole state dict, as a sharded learner gathers it) when given."""
    from peft import get_peft_model_state_dict

    tensors = get_peft_model_state_dict(model, state_dict=state)
    return {k: v.detach().to("cpu", dtype, copy=True) for k, v in tensors.items()}


def adapter_config(model) -> dict:
    """The adapter's PEFT config as JSON, as `save_pretrained` writes it."""
    config = model.peft_config["default"].to_dict()
    return {k: sorted(v) if isinstance(v, set) else v for k, v in config.items()}


def write_adapter(directory: Path, tensors: dict[str, torch.Tensor], config: dict) -> Path:
    """An adapter directory a PEFT or vLLM loader reads."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(directory / "adapter_model.safetensors"))
    (directory / ADAPTER_CONFIG).write_text(json.dumps(config, indent=1))
    return directory


def export_merged(adapter_dir: str, out: Path) -> Path:
    """The adapter merged into its base (in fp32, saved in the base's own dtype) as a plain model
    directory, with the tokenizer."""
    from transformers import AutoTokenizer

    base = json.loads((Path(base_model_dir(adapter_dir)) / "config.json").read_text())
    dtype = getattr(torch, base.get("dtype") or base.get("torch_dtype") or "float32")
    model = load_policy(adapter_dir, torch.float32, trainable=False).merge_and_unload().to(dtype)
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(adapter_dir).save_pretrained(out)
    return out
