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

It holds only where every layer attends to every earlier token. Prefixes are right-padded to the
longest, so a suffix runs at cache index P + i: a sliding window counts from the padded end and
keeps padding in place of a shorter prompt's real keys (Mistral, Phi-3, Gemma 3, Qwen2 with
`use_sliding_window`), and a recurrent or convolutional layer (LFM2, Qwen3-Next) would carry its
state through the padding, when its cache can be split at all. `sharing_blocker` reads that from
the config; `split_mismatch` checks any family the rule has not been tested on, at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workers.rl.token_logprobs import attention_from_lengths

MIN_SAVING = 0.2
"""The share of padded tokens a split must save to be used."""
FULL_ATTENTION = "full_attention"
CHECKED_FAMILIES = frozenset({"qwen2", "qwen3", "llama"})
"""Model types on which the config rule is tested (tests/integration/test_shared_prefix_models.py):
with full attention everywhere, the split equals the plain forward. Any other family is also
checked on numbers when the learner starts."""
CHECK_TOLERANCE = 1e-4
"""Largest logit gap (fp32) a split may show against the plain forward in the start-up check."""


def sharing_blocker(config) -> str | None:
    """Why a split would give other numbers than the plain forward on a model of this config, or
    None where every layer is full global attention."""
    text = config.get_text_config()
    other = sorted(set(getattr(text, "layer_types", None) or []) - {FULL_ATTENTION})
    if other:
        return f"{text.model_type} has {' and '.join(other)} layers"
    window = getattr(text, "sliding_window", None)
    if window is not None and getattr(text, "use_sliding_window", True):
        return f"{text.model_type} attends through a sliding window of {window} tokens"
    return None


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


def split_mismatch(logits_of, vocab_size: int, device: torch.device) -> str | None:
    """Why the split fails on this model, found on numbers: two prompts of different lengths (one
    shared by two rows) through `logits_of(ids, attention, row, col, split)`, with and without the
    split; None where they agree within `CHECK_TOLERANCE`."""
    generator = torch.Generator().manual_seed(0)

    def tokens(n: int) -> torch.Tensor:
        return torch.randint(3, vocab_size, (n,), generator=generator)

    long, short = tokens(9), tokens(4)
    rows = [torch.cat([long, tokens(5)]), torch.cat([long, tokens(3)]), torch.cat([short, tokens(6)])]
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.zeros((3, int(lengths.max())), dtype=torch.long)
    for r, tokens in enumerate(rows):
        ids[r, : len(tokens)] = tokens
    prefix_lengths = torch.tensor([len(long) - 1, len(short) - 1])
    owner = torch.tensor([0, 0, 1])
    cut = prefix_lengths[owner]
    suffix_lengths = lengths - cut
    prefix_ids = torch.zeros((2, int(prefix_lengths.max())), dtype=torch.long)
    prefix_ids[0, : len(long) - 1], prefix_ids[1, : len(short) - 1] = long[:-1], short[:-1]
    suffix_ids = torch.zeros((3, int(suffix_lengths.max())), dtype=torch.long)
    for r in range(3):
        suffix_ids[r, : int(suffix_lengths[r])] = ids[r, int(cut[r]) : int(lengths[r])]
    split = PrefixSplit(prefix_ids, prefix_lengths, owner, suffix_ids, suffix_lengths).to(device)
    row = torch.cat([torch.full((int(lengths[r] - cut[r]) - 1,), r) for r in range(3)])
    col = torch.cat([torch.arange(int(cut[r]), int(lengths[r]) - 1) for r in range(3)])
    attention = attention_from_lengths(lengths, ids.shape[1]).to(device)
    ids, row, col = ids.to(device), row.to(device), col.to(device)
    try:
        with torch.no_grad():
            plain = logits_of(ids, attention, row, col, None)
            shared = logits_of(ids, attention, row, col, split)
    except Exception as exc:  # a cache that cannot be split says so here, not at the first update
        return f"a split forward failed: {type(exc).__name__}: {exc}"
    gap = float((plain - shared).abs().max())
    return None if gap <= CHECK_TOLERANCE else f"a split forward's logits are {gap:.3g} off the plain forward's"
