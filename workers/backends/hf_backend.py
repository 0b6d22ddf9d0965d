"""Reference generation path: transformers' generate. Slower than vLLM; used to check it and as a
fallback where vLLM cannot run.

It samples exactly the distribution it reports, logits / temperature: `generate` would otherwise
take every sampling field the call does not set from the checkpoint's generation_config.json (a
repetition penalty of 1.05 in Qwen2.5-Instruct's, top-k, min-p, an n-gram ban), and sample from a
distribution the learner never scores while reporting the raw one."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from workers.backends.base import Generation, SamplingConfig
from workers.backends.model_files import check_weight_names, stop_token_ids
from workers.lora_adapter import base_model_dir, is_adapter_dir, load_policy, write_adapter


class HfBackend:
    def __init__(self, model_dir: str, *, max_model_len: int, dtype: str, seed: int):
        """`model_dir` may be a LoRA adapter directory: its base with the adapter on."""
        from transformers import AutoTokenizer, GenerationConfig

        self.model = load_policy(model_dir, getattr(torch, dtype), trainable=False)
        self.model.eval()
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        base = base_model_dir(model_dir) if is_adapter_dir(model_dir) else model_dir
        self.stop_ids = stop_token_ids(base, tokenizer)
        # Left padding is masked out, so any id will do where the tokenizer has no pad token.
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        # Nothing of the checkpoint's sampling settings: `generate` gets the run's own, below.
        self.model.generation_config = GenerationConfig(eos_token_id=list(self.stop_ids), pad_token_id=self.pad_token_id)
        self.tensor_names = frozenset(self.model.state_dict())
        self.max_model_len = max_model_len
        self.generator = torch.Generator().manual_seed(seed)
        self.version = 0

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], sampling: SamplingConfig) -> list[Generation]:
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for row, p in enumerate(prompts):
            ids[row, width - len(p) :] = torch.tensor(p)
            attention[row, width - len(p) :] = 1
        # transformers samples from torch's global RNG: reseed it from our own stream so a run
        # is reproducible for its seed whatever else drew random numbers in this process.
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=self.generator)))
        out = self.model.generate(
            input_ids=ids,
            attention_mask=attention,
            do_sample=True,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=0,
            max_new_tokens=sampling.max_new_tokens,
            min_new_tokens=sampling.max_new_tokens if sampling.ignore_eos else 0,
            eos_token_id=list(self.stop_ids),
            pad_token_id=self.pad_token_id,
            return_dict_in_generate=True,
            output_logits=True,
        )
        new = out.sequences[:, width:]
        scaled = (torch.stack(out.logits, dim=1).float() / sampling.temperature).log_softmax(-1)
        picked = torch.gather(scaled, -1, new.unsqueeze(-1)).squeeze(-1)
        results = []
        for row in range(len(prompts)):
            tokens = new[row].tolist()
            end = next((i for i, t in enumerate(tokens) if t in self.stop_ids), None)
            if end is not None:
                tokens = tokens[: end + 1]
            results.append(Generation(tokens, picked[row, : len(tokens)].tolist(), end is not None))
        return results

    def update_weights(self, state: dict[str, torch.Tensor], version: int) -> None:
        check_weight_names(state, self.tensor_names)
        self.model.load_state_dict({k: v.clone() for k, v in state.items()}, strict=True)
        self.version = version

    def update_adapter(self, tensors: dict[str, torch.Tensor], config: dict, version: int) -> None:
        """The first adapter wraps the base (PEFT reads it from a directory); later ones replace
        its weights in place."""
        from peft import PeftModel, set_peft_model_state_dict

        if isinstance(self.model, PeftModel):
            set_peft_model_state_dict(self.model, {k: v.clone() for k, v in tensors.items()})
        else:
            with tempfile.TemporaryDirectory() as scratch:
                self.model = PeftModel.from_pretrained(self.model, write_adapter(Path(scratch), tensors, config))
            self.model.eval()
        self.version = version
