"""Advantage estimators, registered by name (`algo.advantage`)."""

from __future__ import annotations

from collections.abc import Callable

import torch

AdvantageFn = Callable[[torch.Tensor, float], torch.Tensor]


def grpo_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """GRPO: rewards [num_groups, G] -> (r - group mean) / (group std + eps), same shape.

    A group whose rewards are all equal gets advantage 0 everywhere: it teaches nothing, which is
    why the curriculum keeps pass rates away from 0 and 1. std is the unbiased sample std (G-1)."""
    if rewards.dim() != 2 or rewards.size(1) < 2:
        raise ValueError(f"rewards must be [num_groups, G>=2], got {tuple(rewards.shape)}")
    mean = rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, keepdim=True)
    return (rewards - mean) / (std + eps)


def drgrpo_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Dr. GRPO: r - group mean, without the std division that over-weights easy groups."""
    if rewards.dim() != 2 or rewards.size(1) < 2:
        raise ValueError(f"rewards must be [num_groups, G>=2], got {tuple(rewards.shape)}")
    return rewards - rewards.mean(dim=1, keepdim=True)


ADVANTAGES: dict[str, AdvantageFn] = {"grpo": grpo_advantages, "drgrpo": drgrpo_advantages}


def informative_group_fraction(passed: torch.Tensor) -> float:
    """Share of groups [num_groups, G] with both passes and failures (0 < #pass < G)."""
    n = passed.float().sum(dim=1)
    return ((n > 0) & (n < passed.size(1))).float().mean().item()
