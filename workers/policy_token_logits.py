"""The policy's logits at its own tokens only, the learner's forward."""

from __future__ import annotations

import torch

from workers.rl.shared_prefix import CHECKED_FAMILIES, PrefixSplit, shared_prefix_hidden, sharing_blocker, split_mismatch


class PolicyTokenLogits(torch.nn.Module):
    """A causal LM's logits at chosen positions only: the output layer runs on the N positions
    (row, col) of a forward over `ids`, not on all B x T, so the prompt and user tokens of a
    dialogue (most of it) never cost a vocabulary-wide matmul and softmax, nor the memory of a
    [B, T, V] tensor. A module of its own so that a sharded learner can make it FSDP2's root:
    the root unit gathers the embeddings and the output layer around this forward."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.split_blocker = sharing_blocker(model.config)
        """Why this model cannot share prompts (`shared_prefix.sharing_blocker`), or None."""

    def forward(
        self, ids: torch.Tensor, attention: torch.Tensor, row: torch.Tensor, col: torch.Tensor, split: PrefixSplit | None = None
    ) -> torch.Tensor:
        decoder = self.model.get_decoder()
        if split is None:
            hidden = decoder(input_ids=ids, attention_mask=attention, use_cache=False).last_hidden_state
        else:
            if self.split_blocker is not None:
                raise ValueError(
                    f"algo.shared_prefix cannot split the prompts of a {self.model.config.model_type} model: "
                    f"{self.split_blocker}; the split would change its log-probs (set algo.shared_prefix=false)"
                )
            hidden, col = shared_prefix_hidden(decoder, split), col - split.offsets()[row]
        with torch.autocast(hidden.device.type, enabled=False):
            # In fp32 even under a bf16 autocast: rounded to bf16, a logit of 20 moves in steps of 0.125.
            return self.model.get_output_embeddings()(hidden[row, col].float())


def sharing_problem(policy: PolicyTokenLogits, device: torch.device) -> str | None:
    """Why `policy` must not share prompts: the config rule, then, for a family the rule has not
    been tested on, the numbers (`split_mismatch`, in eval mode so dropout cannot differ)."""
    if policy.split_blocker is not None:
        return policy.split_blocker
    text = policy.model.config.get_text_config()
    if text.model_type in CHECKED_FAMILIES:
        return None
    was_training = policy.training
    policy.eval()
    try:
        return split_mismatch(policy, text.vocab_size, device)
    finally:
        policy.train(was_training)
