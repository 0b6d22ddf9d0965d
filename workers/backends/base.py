"""The interface every generation backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


@dataclass(frozen=True)
class SamplingConfig:
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    ignore_eos: bool = False
    """Always generate max_new_tokens (fixed-length throughput benchmarks only)."""


@dataclass(frozen=True)
class Generation:
    token_ids: list[int]
    logprobs: list[float]
    """log p of each sampled token under the sampling distribution (logits / temperature)."""
    finished: bool
    """True when a stop token ended the reply (the chat format's <|im_end|>, the tokenizer's eos or
    one of generation_config's; it is the last id), False when cut at max_new_tokens."""


class GenerationBackend(Protocol):
    version: int
    """The weight version last loaded; rollouts check it before every batch."""
    stop_ids: tuple[int, ...]
    """The ids a reply stops at (`model_files.stop_token_ids`): <|im_end|> first."""

    def generate(self, prompts: list[list[int]], sampling: SamplingConfig) -> list[Generation]:
        """One call for the whole batch: continuations of every prompt (token ids)."""
        ...

    def update_weights(self, state: dict[str, torch.Tensor], version: int) -> None: ...

    def update_adapter(self, tensors: dict[str, torch.Tensor], config: dict, version: int) -> None:
        """Serve the base model with this LoRA adapter from now on (`policy.lora`)."""
        ...
