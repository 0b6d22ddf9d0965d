"""What one step plays and learns from: the users it draws, the requests it sends, the batch and
statistics it makes of the episodes, and the held-out evaluation."""

from __future__ import annotations

import random
from typing import Any

import torch

from orchestrator.cluster.rollout_pool import RolloutPool
from orchestrator.config import ExperimentConfig
from orchestrator.curriculum.controllers import BatchStats
from orchestrator.evaluation.held_out import eval_requests, eval_scenarios, level_metrics, summarise
from workers.env.scenarios.scenario import Scenario
from workers.env.users.simulator_usage import SimulatorUsage
from workers.rl.advantages import ADVANTAGES, informative_group_fraction
from workers.types import Episode, EpisodeRequest, TrainBatch


def draw_scenarios(config: ExperimentConfig, rng: random.Random) -> list[Scenario]:
    """One scenario per group, distinct while the split has enough; a batch of more groups than
    scenarios takes them all once per round (the two-intent demo split has 42)."""
    scenarios = config.simulator.scenarios_of(config.simulator.split)
    picked: list[Scenario] = []
    while len(picked) < config.rollout.groups_per_step:
        picked += rng.sample(scenarios, k=min(config.rollout.groups_per_step - len(picked), len(scenarios)))
    return picked


def requests_for(
    config: ExperimentConfig, scenarios: list[Scenario], levels: float | list[float], step: int
) -> list[EpisodeRequest]:
    """Whole groups of one scenario each, at the group's level: the proposal's own level for each
    group (`Proposal.levels`: `per_scenario`'s, or the jittered ones), or one level for all."""
    if isinstance(levels, float | int):
        levels = [float(levels)] * len(scenarios)
    return [
        EpisodeRequest(scenario, level, group, seed=config.seed * 1_000_003 + step * 1009 + group)
        for group, (scenario, level) in enumerate(zip(scenarios, levels, strict=True))
        for _ in range(config.rollout.group_size)
    ]


def sample_requests(config: ExperimentConfig, rng: random.Random, difficulty: float, step: int) -> list[EpisodeRequest]:
    return requests_for(config, draw_scenarios(config, rng), difficulty, step)


def score(episodes: list[Episode], config: ExperimentConfig, buckets: tuple[str, ...] = ()) -> tuple[TrainBatch, BatchStats]:
    """The step's training batch and the statistics its controller observes (with each group's
    scenario bucket, `buckets`, when the step drew them)."""
    g = config.rollout.group_size
    rewards = torch.tensor([e.reward for e in episodes]).view(-1, g)
    passed = torch.tensor([e.passed for e in episodes]).view(-1, g)
    advantages = ADVANTAGES[config.algo.advantage](rewards, 1e-6).flatten().tolist()
    stats = BatchStats(
        pass_rate=passed.float().mean().item(),
        informative_group_frac=informative_group_fraction(passed),
        reward_mean=rewards.mean().item(),
        group_difficulties=tuple(episodes[i].difficulty for i in range(0, len(episodes), g)),
        group_passes=tuple(int(n) for n in passed.sum(dim=1).tolist()),
        group_size=g,
        group_buckets=buckets,
    )
    return TrainBatch.from_episodes(episodes, advantages), stats


def evaluate(pool: RolloutPool, config: ExperimentConfig) -> tuple[dict[str, float], list[Episode], SimulatorUsage]:
    """The held-out evaluation (`trainer.eval_levels`) on the rollout workers' current weights,
    and what it asked of the simulator."""
    t = config.trainer
    requests = eval_requests(eval_scenarios(config, "test", t.eval_scenarios), t.eval_levels, config.seed)
    episodes, cost = pool.rollout(requests)
    return level_metrics(summarise(episodes, config.simulator.pass_threshold)), episodes, cost.simulator_usage


def sample_dialogues(episodes: list[Episode], step: int, k: int) -> list[dict[str, Any]]:
    """The best and the worst episodes of the step, with what the scorer saw in each reply."""
    ranked = sorted(episodes, key=lambda e: e.reward)
    chosen = ranked[-((k + 1) // 2) :][::-1] + ranked[: k // 2]
    return [
        {
            "step": step,
            "scenario": e.scenario_id,
            "hidden_intent": e.intent,
            "difficulty": round(e.difficulty, 4),
            "reward": round(e.reward, 4),
            "passed": e.passed,
            "reply_strategies": " / ".join(e.labels),
            "emotions": " -> ".join(f"{x:.0f}" for x in e.emotions),
            "dialogue": "\n".join(f"{role}: {text}" for role, text in e.transcript),
        }
        for e in chosen
    ]
