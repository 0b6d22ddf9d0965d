"""`policy.lora`, apart from the adapter code (`lora_adapter.py`) so that loading a config never
imports torch."""

from __future__ import annotations

from pydantic import Field

from workers.config_section import ConfigSection


class LoraConfig(ConfigSection):
    """`policy.lora`: the learner trains this adapter and the rollout workers serve it."""

    rank: int = Field(16, ge=1, le=512, description="Adapter rank r.")
    alpha: float = Field(32.0, gt=0, description="LoRA scaling numerator (the update is scaled by alpha / r).")
    target_modules: list[str] = Field(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        min_length=1,
        description="Names of the linear layers that get an adapter (Qwen / Llama naming).",
    )
    dropout: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Dropout on the adapter's input in training forwards (scoring passes run without it); above 0 the "
        "PPO ratio of later epochs carries the dropout's noise.",
    )
