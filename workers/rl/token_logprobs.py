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


def attention_from_lengths(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """[B, width] attention mask of right-padded rows: 1 on each row's first `length` positions.
    Built from lengths, never from a pad id, which a policy can sample mid-sequence."""
    return (torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]).long()


def scaled_logits(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Next-token logits [B, T-1, V] of the sampling distribution, in fp32: column t predicts
    ids[t + 1], divided by the sampling temperature as vLLM divides them before it samples."""
    z = logits[:, :-1].float()
    return z / temperature if temperature != 1.0 else z


def token_logprobs(logits: torch.Tensor, ids: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """[B, T]: column t holds log p(ids[t] | ids[<t]) under softmax(logits / temperature). Column 0
    has no context and is 0; callers mask it out (a prompt token is never a policy token)."""
    z = scaled_logits(logits, temperature)
    picked = torch.gather(z, -1, ids[:, 1:].unsqueeze(-1)).squeeze(-1) - torch.logsumexp(z, dim=-1)
    return torch.cat([torch.zeros_like(picked[:, :1]), picked], dim=1)


@torch.no_grad()
def token_entropy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """[B, T] entropy of each next-token distribution, aligned like token_logprobs. Without
    gradient: it is a metric here (there is no entropy bonus), and an autograd graph through it
    would keep another [B, T, V] tensor alive until backward."""
    z = scaled_logits(logits.detach(), temperature)
    entropy = torch.logsumexp(z, dim=-1) - (torch.softmax(z, dim=-1) * z).sum(-1)
    return torch.cat([torch.zeros_like(entropy[:, :1]), entropy], dim=1)
