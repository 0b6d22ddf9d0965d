"""Plays scripted (or adversarial) policies against the `rule` user, without a model: the
environment's tests and bench/env_curve.py, bench/memorisation.py measure the knob with it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from workers.env.english_scenarios import english_split
from workers.env.rule_simulator import RuleSimulator
from workers.env.scenario import Scenario

THRESHOLD = 70.0
"""The demo's `simulator.pass_threshold`."""
Policy = Callable[[str, list[str], int], str]
"""(dialogue key, user messages so far, turn index) -> reply, as in scripted_policies."""


def play(policy: Policy, scenario: Scenario, difficulty: float, seed: int = 0, max_turns: int = 3) -> float:
    """Final emotion of one dialogue; the key includes the seed, so a policy's own coins are the
    same at every difficulty (coupled draws)."""
    sim = RuleSimulator(max_turns=max_turns, pass_threshold=THRESHOLD, seed=seed)
    messages = [sim.start(scenario, difficulty)]
    for turn in range(max_turns):
        reply = sim.step(policy(f"{scenario.id}/{seed}", messages, turn))
        messages.append(reply.message)
        if reply.done:
            break
    return sim.emotion


def final_emotions(
    policy: Policy,
    levels: Sequence[float],
    scenarios: Sequence[Scenario] | None = None,
    seeds: Sequence[int] = (0,),
    max_turns: int = 3,
) -> np.ndarray:
    """[level, dialogue] final emotions; the same (scenario, seed) pairs at every level."""
    scenarios = english_split("all") if scenarios is None else scenarios
    return np.array([[play(policy, s, float(d), seed, max_turns) for seed in seeds for s in scenarios] for d in levels])
