"""Advantage estimators, registered by name (`algo.advantage`)."""

from __future__ import annotations

from collections.abc import Callable

import torch

AdvantageFn = Callable[[torch.Tensor, float], torch.Tensor]


def _check(rewards: torch.Tensor) -> None:
    if rewards.dim() != 2 or rewards.size(1) < 2:
        raise ValueError(f"rewards must be [num_groups, G>=2], got {tuple(rewards.shape)}")


def tied_groups(rewards: torch.Tensor) -> torch.Tensor:
    """[num_groups, 1] bool: groups whose rewards are all equal (zero std)."""
    return (rewards == rewards[:, :1]).all(dim=1, keepdim=True)


def _zero_where_tied(rewards: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """A tied group teaches nothing; in float arithmetic its mean can sit an ulp off its members
    (float32, G = 8, r = 0.7: r - mean = 6e-8, std 6e-8, and (r - mean) / (std + 1e-6) = 0.056 on
    every member), so the
    zero is set, not computed."""
    return torch.where(tied_groups(rewards), torch.zeros_like(advantages), advantages).to(rewards.dtype)


def grpo_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """GRPO: rewards [num_groups, G] -> (r - group mean) / (group std + eps), same shape.

    A group whose rewards are all equal gets advantage exactly 0 everywhere, at any G. Computed in
    float64; std is the unbiased sample std (G-1), as in verl and TRL."""
    _check(rewards)
    r = rewards.double()
    advantages = (r - r.mean(dim=1, keepdim=True)) / (r.std(dim=1, keepdim=True) + eps)
    return _zero_where_tied(rewards, advantages)


def drgrpo_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Dr. GRPO: r - group mean, without the std division that over-weights easy groups."""
    _check(rewards)
    r = rewards.double()
    return _zero_where_tied(rewards, r - r.mean(dim=1, keepdim=True))


ADVANTAGES: dict[str, AdvantageFn] = {"grpo": grpo_advantages, "drgrpo": drgrpo_advantages}


def zero_std_fraction(rewards: torch.Tensor) -> float:
    """Share of groups [num_groups, G] whose rewards are all equal: they add nothing to the update."""
    return tied_groups(rewards).float().mean().item()


def informative_group_fraction(passed: torch.Tensor) -> float:
    """Share of groups [num_groups, G] with both passes and failures (0 < #pass < G)."""
    n = passed.float().sum(dim=1)
    return ((n > 0) & (n < passed.size(1))).float().mean().item()
