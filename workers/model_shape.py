"""A decoder-only transformer's shape, read from its `config.json`: what its weights, an adapter
and a token's KV cache cost, for the memory plan before a run and a rollout engine's KV cache."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelShape:
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied_embeddings: bool

    @classmethod
    def from_config(cls, config: dict) -> ModelShape:
        try:
            hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
            return cls(
                hidden=hidden,
                intermediate=int(config["intermediate_size"]),
                layers=int(config["num_hidden_layers"]),
                heads=heads,
                kv_heads=int(config.get("num_key_value_heads") or heads),
                head_dim=int(config.get("head_dim") or hidden // heads),
                vocab=int(config["vocab_size"]),
                tied_embeddings=bool(config.get("tie_word_embeddings", False)),
            )
        except KeyError as exc:
            raise ValueError(f"the model's config.json has no {exc.args[0]}: not a decoder-only transformer") from None

    @classmethod
    def of_model_dir(cls, directory: str | Path) -> ModelShape:
        """The shape in a model directory's `config.json`."""
        return cls.from_config(json.loads((Path(directory) / "config.json").read_text()))

    @property
    def layer_params(self) -> int:
        """One decoder layer: q, k, v (with bias, as Qwen2), o, the gated MLP, two norms."""
        h, kv = self.hidden, self.kv_heads * self.head_dim
        q = self.heads * self.head_dim
        attention = h * q + q + 2 * (h * kv + kv) + q * h
        return attention + 3 * h * self.intermediate + 2 * h

    @property
    def outer_params(self) -> int:
        """Embeddings, the final norm and (untied) the output layer: FSDP's root unit."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2) + self.hidden

    @property
    def params(self) -> int:
        return self.layers * self.layer_params + self.outer_params

    def lora_params(self, rank: int, targets: tuple[str, ...]) -> int:
        """Adapter parameters: rank x (in + out) for each targeted projection of every layer."""
        sizes = projection_sizes(self)
        unknown = [t for t in targets if t not in sizes]
        if unknown:
            raise ValueError(f"policy.lora.target_modules: the plan knows no module {unknown[0]!r} ({', '.join(sizes)})")
        return self.layers * sum(rank * sum(sizes[t]) for t in targets)

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


def projection_sizes(shape: ModelShape) -> dict[str, tuple[int, int]]:
    """(in, out) features of a decoder layer's projections, by their Qwen / Llama names."""
    h, i = shape.hidden, shape.intermediate
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    return {
        "q_proj": (h, q),
        "k_proj": (h, kv),
        "v_proj": (h, kv),
        "o_proj": (q, h),
        "gate_proj": (h, i),
        "up_proj": (h, i),
        "down_proj": (i, h),
    }
