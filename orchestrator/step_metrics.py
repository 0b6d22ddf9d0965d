"""A training step's metrics, named in one place (as verl's `compute_data_metrics`): from its
episodes and batch statistics, the learner's update, the step's timings and the counts the run
keeps. The names are the ones docs/reference/metrics.md lists; tests/unit/orchestrator/test_trainer.py
holds every logged name to it."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from orchestrator.config import ExperimentConfig
from orchestrator.curriculum.controllers import BatchStats
from orchestrator.step_timing import StepTiming
from workers.rl.advantages import zero_std_fraction
from workers.types import Episode

TIMED_PHASES = ("generate", "simulate", "score", "learn", "sync", "eval")
"""The phases logged as `perf/<phase>_s` (`log` ends after the metrics are sent)."""


@dataclass(frozen=True)
class StepCounts:
    """What the run knows at a step's end besides its batch and update."""

    difficulty: float
    guard_acting: bool
    policy_lag: int
    """Updates between the weights that sampled the batch and the learner's before its update."""
    skipped_updates: int
    """Over the run so far (`algo.max_skipped_updates`)."""
    rollout_restarts: int
    stuck_buckets: int
    sync_bytes: int
    step_s: float
    """The step's time up to its logging (`perf/step_s`)."""
    simulator_restarts: int | None = None
    """Served simulator restarts (None: the run serves none)."""


def batch_metrics(config: ExperimentConfig, episodes: list[Episode], stats: BatchStats) -> dict[str, float]:
    """What the step's episodes say: reward, emotion, the pass rate the controller targets, the
    dialogues' shape, and how the scorer (or the `llm` simulator's parser) read the replies."""
    n = len(episodes)
    rewards = torch.tensor([e.reward for e in episodes]).view(-1, config.rollout.group_size)
    metrics = {
        "reward/mean": stats.reward_mean,
        "reward/std": rewards.std().item(),
        "reward/frac_zero_std": zero_std_fraction(rewards),
        "emotion/final_mean": sum(e.final_emotion for e in episodes) / n,
        "curriculum/pass_rate": stats.pass_rate,
        "curriculum/informative_group_frac": stats.informative_group_frac,
        "curriculum/noise_sd": stats.noise_sd,
        "rollout/turns_mean": sum(e.turns for e in episodes) / n,
        "rollout/response_tokens_mean": sum(e.response_tokens for e in episodes) / n,
        "rollout/truncated_frac": sum(e.truncated for e in episodes) / n,
        "rollout/format_violations": float(sum(e.format_violation for e in episodes)),
    }
    if config.simulator.name == "rule":
        labels = [(label, e.intent) for e in episodes for label in e.labels]
        metrics["rollout/strategy_match_frac"] = sum(lab == intent for lab, intent in labels) / max(1, len(labels))
    else:
        metrics["simulator/parse_failures"] = float(sum(e.parse_failures for e in episodes))
    return metrics


def step_metrics(
    config: ExperimentConfig,
    episodes: list[Episode],
    stats: BatchStats,
    update: dict[str, float],
    timing: StepTiming,
    counts: StepCounts,
    services: dict[str, float],
) -> dict[str, float]:
    """Every metric of one step. `update`: the learner's own (`actor/*`, its `perf/*`, and
    `faults/skipped_update`, which becomes the run's count); `services`: what the held-out
    evaluation, the `llm` simulator and its servers report, already named (`eval/*`,
    `simulator/*`)."""
    metrics = batch_metrics(config, episodes, stats)
    metrics |= {key: value for key, value in update.items() if key != "faults/skipped_update"}
    metrics["faults/skipped_updates"] = float(counts.skipped_updates)
    metrics["actor/policy_lag"] = float(counts.policy_lag)
    metrics |= services
    metrics["curriculum/band_low"], metrics["curriculum/band_high"] = config.curriculum.band
    metrics["curriculum/difficulty"] = counts.difficulty
    metrics["curriculum/stuck_buckets"] = float(counts.stuck_buckets)
    if config.curriculum.entropy_floor is not None:
        metrics["curriculum/entropy_guard"] = float(counts.guard_acting)
    metrics["faults/rollout_restarts"] = float(counts.rollout_restarts)
    if counts.simulator_restarts is not None:
        metrics["faults/simulator_restarts"] = float(counts.simulator_restarts)
    metrics |= {f"perf/{phase}_s": timing.phases[phase] for phase in TIMED_PHASES}
    metrics["perf/sync_bytes"] = float(counts.sync_bytes)
    tokens = sum(e.response_tokens for e in episodes)
    metrics["perf/tokens_per_s"] = tokens / max(timing.phases["generate"], 1e-9)
    metrics["perf/step_s"] = counts.step_s
    return metrics
