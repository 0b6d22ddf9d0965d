"""The policy loss: PPO-clip surrogate with asymmetric clipping, optional KL, token-mean."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PolicyLoss:
    loss: torch.Tensor
    pg_loss: torch.Tensor
    kl: torch.Tensor
    clip_frac: torch.Tensor


def masked_token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token-level aggregation: every policy token in the batch weighs the same (DAPO), so long
    replies are not diluted the way a per-sequence mean would dilute them."""
    mask = mask.float()
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Schulman's k3 estimator of KL(pi || ref) per token: exp(r) - r - 1 with r = ref - pi.
    Non-negative and unbiased on samples from pi."""
    r = ref_logp - logp
    return torch.exp(r) - r - 1.0


def ppo_clip_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_low: float,
    clip_high: float,
    ref_logp: torch.Tensor | None = None,
    kl_coef: float = 0.0,
) -> PolicyLoss:
    """All tensors [B, T]; advantages already broadcast to tokens.

    Surrogate per token: -min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A). A larger
    clip_high (DAPO's clip-higher) lets unlikely tokens with positive advantage grow faster,
    which keeps entropy from collapsing. clip_frac counts tokens where the clipped term won."""
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * advantages
    pg = -torch.minimum(unclipped, clipped)
    pg_loss = masked_token_mean(pg, mask)
    clip_frac = masked_token_mean((clipped < unclipped).float(), mask)
    if ref_logp is not None and kl_coef > 0:
        kl = masked_token_mean(kl_k3(logp, ref_logp), mask)
    else:
        kl = torch.zeros((), dtype=logp.dtype)
    return PolicyLoss(pg_loss + kl_coef * kl, pg_loss.detach(), kl.detach(), clip_frac.detach())
