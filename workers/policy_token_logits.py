"""The policy's logits at its own tokens only, the learner's forward."""

from __future__ import annotations

import torch

from workers.rl.shared_prefix import PrefixSplit, shared_prefix_hidden


class PolicyTokenLogits(torch.nn.Module):
    """A causal LM's logits at chosen positions only: the output layer runs on the N positions
    (row, col) of a forward over `ids`, not on all B x T, so the prompt and user tokens of a
    dialogue (most of it) never cost a vocabulary-wide matmul and softmax, nor the memory of a
    [B, T, V] tensor. A module of its own so that a sharded learner can make it FSDP2's root:
    the root unit gathers the embeddings and the output layer around this forward."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(
        self, ids: torch.Tensor, attention: torch.Tensor, row: torch.Tensor, col: torch.Tensor, split: PrefixSplit | None = None
    ) -> torch.Tensor:
        decoder = self.model.get_decoder()
        if split is None:
            hidden = decoder(input_ids=ids, attention_mask=attention, use_cache=False).last_hidden_state
        else:
            hidden, col = shared_prefix_hidden(decoder, split), col - split.offsets()[row]
        with torch.autocast(hidden.device.type, enabled=False):
            # In fp32 even under a bf16 autocast: rounded to bf16, a logit of 20 moves in steps of 0.125.
            return self.model.get_output_embeddings()(hidden[row, col].float())
