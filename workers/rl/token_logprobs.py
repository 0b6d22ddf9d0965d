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


def sampling_logits(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / temperature in fp32: the distribution vLLM samples from once it has divided its
    logits by the temperature."""
    z = logits.float()
    return z / temperature if temperature != 1.0 else z


def next_token_logprobs(logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log p(target) under softmax(logits / temperature) for logits [..., V] and targets [...]."""
    z = sampling_logits(logits, temperature)
    return torch.gather(z, -1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(z, dim=-1)


@torch.no_grad()
def next_token_entropy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Entropy of softmax(logits / temperature) for logits [..., V]. Without gradient: it is a
    metric here (there is no entropy bonus), and an autograd graph through it would keep another
    copy of the logits alive until backward."""
    z = sampling_logits(logits.detach(), temperature)
    return torch.logsumexp(z, dim=-1) - (torch.softmax(z, dim=-1) * z).sum(-1)


def token_logprobs(logits: torch.Tensor, ids: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """[B, T] from a full forward's logits [B, T, V]: column t holds log p(ids[t] | ids[<t]).
    Column 0 has no context and is 0 (a prompt token is never a policy token)."""
    picked = next_token_logprobs(logits[:, :-1], ids[:, 1:], temperature)
    return torch.cat([torch.zeros_like(picked[:, :1]), picked], dim=1)
