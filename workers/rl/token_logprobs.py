"""Per-token log-probabilities and entropies of sampled sequences under a causal LM."""

from __future__ import annotations

import torch


def sequence_batch(ids: list[list[int]], masks: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to [B, T] LongTensors: token ids (pad_id) and masks (0)."""
    width = max(len(x) for x in ids)
    out_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    out_mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, (seq, m) in enumerate(zip(ids, masks, strict=True)):
        out_ids[row, : len(seq)] = torch.tensor(seq)
        out_mask[row, : len(m)] = torch.tensor(m)
    return out_ids, out_mask


def token_logprobs_and_entropy(logits: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """From logits [B, T, V] of a causal LM over ids [B, T], return [B, T] tensors whose
    column t holds log p(ids[t] | ids[<t]) and the entropy of that next-token distribution.
    Column 0 has no context and is 0; callers mask it out (a prompt token is never a policy token).

    Entropy = logsumexp(z) - sum softmax(z) * z, in fp32."""
    z = logits[:, :-1].float()
    log_norm = torch.logsumexp(z, dim=-1)
    picked = torch.gather(z, -1, ids[:, 1:].unsqueeze(-1)).squeeze(-1) - log_norm
    entropy = log_norm - (torch.softmax(z, dim=-1) * z).sum(-1)
    pad = torch.zeros_like(picked[:, :1])
    return torch.cat([pad, picked], dim=1), torch.cat([pad, entropy], dim=1)
