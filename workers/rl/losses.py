"""The policy loss: PPO-clip surrogate with asymmetric and dual clipping, truncated importance
correction of the rollout/learner mismatch, optional k3 KL, and a choice of aggregation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

LossAgg = Literal["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"]
LOSS_AGGREGATIONS: tuple[LossAgg, ...] = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm")

LOG_RATIO_LIMIT = 20.0
"""Log-ratios are clamped to +-20 before exp (verl's bound): e^20 is finite in float32, so one
token whose log-prob moved far cannot turn the loss or its gradient into inf."""

KL_LIMIT = 10.0
"""The per-token k3 KL is capped at 10, as verl caps its low-variance KL."""


@dataclass(frozen=True)
class PolicyLoss:
    loss: torch.Tensor
    """Weighted sum over the micro-batch's tokens: summing it over micro-batches gives the batch's
    loss under the chosen aggregation."""
    pg_loss: float
    kl_sum: float
    """Sums over the micro-batch's policy tokens (divide by the batch's token count for means)."""
    clipped: float
    dual_clipped: float


def token_weights(mask: torch.Tensor, episode: torch.Tensor, agg: LossAgg, norm_tokens: float) -> torch.Tensor:
    """Per-token weights [R, T] with loss = sum(weights * per-token loss) over the whole batch.

    - `token-mean` (DAPO, verl's default): every policy token in the batch weighs the same.
    - `seq-mean-token-mean` (the original GRPO): the mean over each episode's tokens, then the mean
      over episodes; a short episode's tokens weigh more.
    - `seq-mean-token-sum-norm` (Dr. GRPO): each episode's token sum over one constant,
      `norm_tokens`, then the mean over episodes; no length bias either way.
    Rows of one episode (one per reply under `think`) share its normaliser. In multi-turn dialogue
    the choice matters: a user who walks out early ends a short, failed episode."""
    m = mask.float()
    if agg == "token-mean":
        return m / m.sum().clamp(min=1.0)
    per_episode = torch.zeros(int(episode.max()) + 1, dtype=m.dtype).index_add_(0, episode, m.sum(dim=1))
    episodes = (per_episode > 0).sum().clamp(min=1)
    if agg == "seq-mean-token-mean":
        return m / per_episode[episode].clamp(min=1.0)[:, None] / episodes
    if agg == "seq-mean-token-sum-norm":
        return m / (norm_tokens * episodes)
    raise ValueError(f"algo.loss_agg must be one of {LOSS_AGGREGATIONS}, not {agg!r}")


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Schulman's k3 estimator of KL(pi || ref) per token: exp(r) - r - 1 with r = ref - pi.
    Non-negative and unbiased on samples from pi; r is clamped and the value capped (KL_LIMIT)."""
    r = (ref_logp - logp).clamp(-LOG_RATIO_LIMIT, LOG_RATIO_LIMIT)
    return (torch.exp(r) - r - 1.0).clamp(max=KL_LIMIT)


def truncated_is_weight(old_logp: torch.Tensor, rollout_logp: torch.Tensor, cap: float) -> torch.Tensor:
    """min(pi_learner / pi_rollout, cap) per token (truncated importance sampling, as in verl's
    `tis_imp_ratio_cap`): corrects the gap between the rollout engine's sampling distribution (a
    bf16 vLLM, other kernels) and the learner's, without letting one token's weight explode."""
    log_w = (old_logp - rollout_logp).clamp(-LOG_RATIO_LIMIT, LOG_RATIO_LIMIT)
    return torch.exp(log_w).clamp(max=cap)


def ppo_clip_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    weights: torch.Tensor,
    clip_low: float,
    clip_high: float,
    clip_ratio_c: float = 3.0,
    is_weight: torch.Tensor | None = None,
    ref_logp: torch.Tensor | None = None,
    kl_coef: float = 0.0,
) -> PolicyLoss:
    """All tensors [B, T]; advantages already broadcast to tokens; `weights` from token_weights
    (0 off policy tokens).

    Surrogate per token: max(-A r, -A clip(r, 1 - clip_low, 1 + clip_high)); a larger clip_high
    (DAPO's clip-higher) lets unlikely tokens with positive advantage grow faster, which keeps
    entropy from collapsing. For A < 0 it is also capped at -A * clip_ratio_c (dual clip): a
    token whose ratio ran far above 1 cannot push an unbounded loss. `is_weight` multiplies the
    surrogate (truncated importance correction)."""
    mask = weights > 0
    ratio = torch.exp((logp - old_logp).clamp(-LOG_RATIO_LIMIT, LOG_RATIO_LIMIT))
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    surrogate = torch.maximum(unclipped, clipped)
    cap = -advantages * clip_ratio_c
    dual = (advantages < 0) & (cap < surrogate)
    pg = torch.where(dual, cap, surrogate)
    if is_weight is not None:
        pg = pg * is_weight
    pg_loss = (weights * pg).sum()
    loss, kl_sum = pg_loss, 0.0
    if ref_logp is not None and kl_coef > 0:
        kl = kl_k3(logp, ref_logp)
        loss = loss + kl_coef * (weights * kl).sum()
        kl_sum = kl.detach()[mask].sum().item()
    return PolicyLoss(
        loss=loss,
        pg_loss=pg_loss.item(),
        kl_sum=kl_sum,
        clipped=(clipped > unclipped)[mask].sum().item(),
        dual_clipped=dual[mask].sum().item(),
    )
