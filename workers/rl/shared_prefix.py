"""A group's rows open with the same prompt: its forward is computed once, not once per row.

GRPO samples `group_size` replies to one prompt, so a step's rows repeat each prompt that many
times, and on a short reply the prompt is most of a row (single-turn: ~150 prompt tokens before
~20 policy tokens). The learner runs the decoder over each distinct prefix once, keeps its keys
and values, hands them to every row that opens with it, and runs the rest of each row on top.
The gradient is the same: each row's loss reaches the shared prefix's activations through the
cache, and the copies' gradients sum where the rows' separate forwards would have summed them.

The prefix of a row ends one token before its first policy token: the hidden state that predicts
that token is computed in the suffix, so every position whose logit is taken lies there. Rows
share a prefix only if their tokens up to there are identical; a row whose prefix no other row
has still runs as prefix + suffix. The split is used only where it processes at least
`MIN_SAVING` fewer padded tokens than the rows' own forward: it costs two decoder passes, not one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workers.rl.token_logprobs import attention_from_lengths

MIN_SAVING = 0.2
"""The share of padded tokens a split must save to be used."""


@dataclass(frozen=True)
class PrefixSplit:
    prefix_ids: torch.Tensor
    """[G, P]: each distinct prefix, right-padded to the longest."""
    prefix_lengths: torch.Tensor
    """[G]"""
    owner: torch.Tensor
    """[R]: the prefix each row opens with."""
    suffix_ids: torch.Tensor
    """[R, S]: each row after its prefix, right-padded."""
    suffix_lengths: torch.Tensor
    """[R]"""

    @property
    def padded_tokens(self) -> int:
        return self.prefix_ids.numel() + self.suffix_ids.numel()

    def offsets(self) -> torch.Tensor:
        """[R]: where each row's suffix starts in the row."""
        return self.prefix_lengths[self.owner]

    def to(self, device: torch.device) -> PrefixSplit:
        parts = (self.prefix_ids, self.prefix_lengths, self.owner, self.suffix_ids, self.suffix_lengths)
        return PrefixSplit(*(t.to(device) for t in parts))


def plan_prefixes(ids: torch.Tensor, lengths: torch.Tensor, policy: torch.Tensor) -> PrefixSplit | None:
    """The split of right-padded rows `ids` [R, T] (true `lengths` [R], policy-token mask [R, T])
    into shared prefixes and per-row suffixes; None where no two rows share one or the split would
    not save `MIN_SAVING` of the R x T padded tokens."""
    rows, width = ids.shape
    if rows < 2 or not bool(policy.any(dim=1).all()):
        return None
    cut = policy.int().argmax(dim=1) - 1
    if int(cut.min()) < 1:
        return None
    keys: dict[tuple[int, ...], int] = {}
    owner = [keys.setdefault(tuple(ids[r, : int(cut[r])].tolist()), len(keys)) for r in range(rows)]
    if len(keys) == rows:
        return None
    prefix_lengths = torch.tensor([len(k) for k in keys], dtype=torch.long)
    suffix_lengths = lengths - cut
    prefix_ids = torch.zeros((len(keys), int(prefix_lengths.max())), dtype=ids.dtype)
    for g, key in enumerate(keys):
        prefix_ids[g, : len(key)] = torch.tensor(key, dtype=ids.dtype)
    suffix_width = int(suffix_lengths.max())
    columns = (cut[:, None] + torch.arange(suffix_width)[None, :]).clamp(max=width - 1)
    suffix_ids = torch.gather(ids, 1, columns) * attention_from_lengths(suffix_lengths, suffix_width)
    split = PrefixSplit(prefix_ids, prefix_lengths, torch.tensor(owner, dtype=torch.long), suffix_ids, suffix_lengths)
    return split if split.padded_tokens <= (1 - MIN_SAVING) * rows * width else None


def shared_prefix_hidden(decoder: torch.nn.Module, split: PrefixSplit) -> torch.Tensor:
    """The decoder's last hidden states [R, S, H] at each row's suffix positions: the prefixes'
    keys and values, computed once, are copied to their rows (a differentiable index) and the
    suffixes run on them at their true positions, masked from the prefix's padding."""
    prefix_width = split.prefix_ids.shape[1]
    prefix_attention = attention_from_lengths(split.prefix_lengths, prefix_width)
    cache = decoder(input_ids=split.prefix_ids, attention_mask=prefix_attention, use_cache=True).past_key_values
    cache.batch_select_indices(split.owner)
    suffix_width = split.suffix_ids.shape[1]
    attention = torch.cat([prefix_attention[split.owner], attention_from_lengths(split.suffix_lengths, suffix_width)], dim=1)
    positions = split.offsets()[:, None] + torch.arange(suffix_width, device=split.suffix_ids.device)[None, :]
    out = decoder(
        input_ids=split.suffix_ids, attention_mask=attention, position_ids=positions, past_key_values=cache, use_cache=True
    )
    return out.last_hidden_state
