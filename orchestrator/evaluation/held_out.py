"""Held-out evaluation at fixed difficulties, Sentient-Benchmark style.

Per level: score = mean final emotion (0-100), success rate = share of dialogues ending at or
above the simulator's pass threshold (the `rule` user is content at 95 and never quite reaches
RLVER's 100, so we report the threshold we used), failure rate = share ending below 10, and the
mean number of agent turns. The same requests serve a scripted baseline, a checkpoint, and the
in-training evaluation on the rollout workers, so their numbers are comparable.

`protocol: sage` is SAGE's setting as its released code runs it (Tencent's digitalhuman, SAGE/:
simulator_response.py, test_npc.py): RLVER's user (`simulator.profile: rlver`) starting at 40, up
to 10 agent replies, success = final emotion 100, failure = below 10, on RLVER's 100 test profiles
(SAGE's profile/simulator_profile.jsonl holds the same ids; all eight needs). SAGE has no difficulty levels: the
user plays RLVER's normal persona (d = 0.5). Its preset first message is not in the released
profiles, so the simulated user writes its own opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from orchestrator.config import ExperimentConfig, with_overrides
from orchestrator.evaluation.user_policy import AgentPolicy, scripted_agent
from workers.env.scenarios.english_scenarios import english_split
from workers.env.scenarios.scenario import Scenario, realise
from workers.env.scripted_policies import ScriptedPolicy
from workers.env.users.chat_routes import ServedSimulator
from workers.env.users.simulator import make_simulator, start_all, step_all
from workers.types import Episode, EpisodeRequest

FAILURE_EMOTION = 10.0
PROTOCOLS = ("goldilocks", "sage")
SAGE_SETTINGS = [
    "simulator.profile=rlver",
    "simulator.scenarios=rlver",
    "simulator.start_emotion=40",
    "simulator.max_turns=10",
    "simulator.pass_threshold=100",
    "simulator.intents=null",
]
SAGE_LEVEL = 0.5
"""The normal persona: SAGE's user has no difficulty."""


def protocol_config(config: ExperimentConfig, protocol: str) -> ExperimentConfig:
    """The configuration an evaluation protocol runs under (`sage` needs an `llm` simulator)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    if protocol == "goldilocks":
        return config
    if config.simulator.name != "llm":
        raise ValueError("protocol sage plays RLVER's LLM user: set simulator.name=llm, simulator.endpoint, simulator.model")
    return with_overrides(config, SAGE_SETTINGS)


@dataclass(frozen=True)
class LevelScore:
    level: float
    score: float
    success_rate: float
    failure_rate: float
    mean_turns: float
    episodes: int
    score_se: float
    """Standard error of `score`, stratified by held-out scenario (situation x need x personality):
    the evaluation draws a fixed number from each, so only the spread within a scenario is noise."""


def level_key(level: float) -> str:
    """`eval/<level>/score` uses this spelling: 0.2, 0.5, 0.8."""
    return f"{level:g}"


def stratified(scenarios: Sequence[Scenario], limit: int | None) -> tuple[Scenario, ...]:
    """The first `limit` scenarios of a round-robin over every (situation, need) cell, each cell's
    personalities rotated, so even a small evaluation spans every held-out situation and need; a
    `limit` beyond the split goes round again (`eval_requests` gives each pass its own seeds, so
    the repeats meet other counterparts and phrasings)."""
    cells: dict[tuple[str, str], list[Scenario]] = {}
    for s in scenarios:
        cells.setdefault((s.topic, s.intent), []).append(s)
    rotated = [members[k % len(members) :] + members[: k % len(members)] for k, members in enumerate(cells.values())]
    rounds = max((len(m) for m in rotated), default=0)
    ordered = tuple(m[i] for i in range(rounds) for m in rotated if i < len(m))
    if not limit:
        return ordered
    return tuple(ordered[i % len(ordered)] for i in range(limit)) if ordered else ()


def eval_scenarios(config: ExperimentConfig, split: str, limit: int | None) -> tuple[Scenario, ...]:
    return stratified(config.simulator.scenarios_of(split), limit)


def eval_requests(scenarios: Sequence[Scenario], levels: Sequence[float], seed: int) -> list[EpisodeRequest]:
    """One dialogue per (level, scenario); seeds depend on the scenario only, so levels differ in d alone."""
    return [
        EpisodeRequest(scenario, level, group=i * len(scenarios) + j, seed=seed * 7919 + j)
        for i, level in enumerate(levels)
        for j, scenario in enumerate(scenarios)
    ]


def summarise(episodes: Sequence[Episode], pass_threshold: float) -> list[LevelScore]:
    by_level: dict[float, list[Episode]] = {}
    for e in episodes:
        by_level.setdefault(e.difficulty, []).append(e)
    out = []
    for level in sorted(by_level):
        eps = by_level[level]
        n = len(eps)
        out.append(
            LevelScore(
                level=level,
                score=sum(e.final_emotion for e in eps) / n,
                success_rate=sum(e.final_emotion >= pass_threshold for e in eps) / n,
                failure_rate=sum(e.final_emotion < FAILURE_EMOTION for e in eps) / n,
                mean_turns=sum(e.turns for e in eps) / n,
                episodes=n,
                score_se=stratified_se(eps),
            )
        )
    return out


def stratified_se(episodes: Sequence[Episode]) -> float:
    """sqrt(sum_h w_h^2 s_h^2 / n_h) over scenarios h with weights w_h = n_h / n; with a scenario
    met only once (no spread to measure) the plain s / sqrt(n), which is never smaller."""
    cells: dict[str, list[float]] = {}
    for e in episodes:
        cells.setdefault(e.scenario_id, []).append(e.final_emotion)
    n = len(episodes)
    if n < 2:
        return float("nan")
    if min(len(c) for c in cells.values()) < 2:
        return float(np.std([e.final_emotion for e in episodes], ddof=1) / np.sqrt(n))
    return float(np.sqrt(sum((len(c) / n) ** 2 * np.var(c, ddof=1) / len(c) for c in cells.values())))


def level_metrics(scores: Sequence[LevelScore]) -> dict[str, float]:
    """The MLflow metrics of one evaluation."""
    metrics = {}
    for s in scores:
        key = level_key(s.level)
        metrics |= {
            f"eval/{key}/score": s.score,
            f"eval/{key}/success_rate": s.success_rate,
            f"eval/{key}/failure_rate": s.failure_rate,
            f"eval/{key}/turns_mean": s.mean_turns,
            f"eval/{key}/score_se": s.score_se,
        }
    return metrics


def play_policy(
    policy: AgentPolicy, requests: Sequence[EpisodeRequest], config: ExperimentConfig, servers: tuple[ServedSimulator, ...] = ()
) -> list[Episode]:
    """A model-free policy (scripted, or a user's function) against the configured simulator; all
    dialogues advance turn by turn together, so an `llm` simulator is queried concurrently as in
    training. `servers`: the simulator servers a served `llm` user talks to."""
    from workers.env.users.llm_simulator import ChatEndpoint

    sim_cfg = config.simulator
    llm = sim_cfg.llm_settings(servers)
    endpoint = ChatEndpoint(llm) if llm else None
    limits = {"max_turns": sim_cfg.turn_limit, "pass_threshold": sim_cfg.pass_threshold}
    sims = [make_simulator(sim_cfg.name, **limits, seed=r.seed, endpoint=endpoint) for r in requests]
    openings = start_all(sims, [r.scenario for r in requests], [r.difficulty for r in requests])
    met = [realise(r.scenario, r.seed) for r in requests]
    episodes = [
        Episode(r.scenario.id, r.scenario.intent, r.group, r.difficulty, [], [s.emotion], [], [("user", o)])
        for r, s, o in zip(requests, sims, openings, strict=True)
    ]
    live = list(range(len(requests)))
    while live:
        replies = []
        for i in live:
            transcript = episodes[i].transcript
            dialogue = [{"role": "assistant" if who == "agent" else "user", "content": text} for who, text in transcript]
            replies.append(policy(dialogue, met[i], f"{requests[i].scenario.id}/{requests[i].seed}"))
        still = []
        for i, reply, result in zip(live, replies, step_all([sims[i] for i in live], replies), strict=True):
            e = episodes[i]
            e.emotions.append(result.emotion)
            e.labels.append(result.label)
            e.parse_failures += result.parse_failures
            e.transcript += [("agent", reply), ("user", result.message)]
            if not result.done:
                still.append(i)
        live = still
    for e in episodes:
        e.passed = e.final_emotion >= sim_cfg.pass_threshold
    return episodes


PASS_THRESHOLD = ExperimentConfig().simulator.pass_threshold
"""The default `simulator.pass_threshold`, which `final_emotions` plays with."""


def final_emotions(
    policy: ScriptedPolicy,
    levels: Sequence[float],
    scenarios: Sequence[Scenario] | None = None,
    seeds: Sequence[int] = (0,),
    max_turns: int = 3,
) -> np.ndarray:
    """[level, dialogue] final emotions of a scripted (or adversarial) policy against the `rule`
    user, each (scenario, seed) pair met at every level with the same draws (the key a scripted
    policy gets includes the seed, so its own coins are the same too): what the environment's
    tests and bench/env_curve.py, bench/memorisation.py measure the knob with."""
    return agent_final_emotions(scripted_agent(policy), levels, scenarios, seeds, max_turns)


def agent_final_emotions(
    agent: AgentPolicy,
    levels: Sequence[float],
    scenarios: Sequence[Scenario] | None = None,
    seeds: Sequence[int] = (0,),
    max_turns: int = 3,
) -> np.ndarray:
    """`final_emotions` of any agent policy, the oracle (which reads the hidden need) among them."""
    scenarios = english_split("all") if scenarios is None else scenarios
    config = with_overrides(ExperimentConfig(), [f"simulator.max_turns={max_turns}"])
    pairs = [(scenario, seed) for seed in seeds for scenario in scenarios]
    requests = [
        EpisodeRequest(scenario, float(level), group=len(pairs) * i + j, seed=seed)
        for i, level in enumerate(levels)
        for j, (scenario, seed) in enumerate(pairs)
    ]
    episodes = play_policy(agent, requests, config)
    return np.array([e.final_emotion for e in episodes]).reshape(len(levels), len(pairs))


def report(policy: str, config: ExperimentConfig, split: str, scores: Sequence[LevelScore], protocol: str = "goldilocks") -> dict:
    threshold = config.simulator.pass_threshold
    return {
        "policy": policy,
        "protocol": protocol,
        "simulator": config.simulator.name,
        "simulator_profile": config.simulator.profile,
        "simulator_model": config.simulator.model,
        "scenarios": f"{config.simulator.scenarios}/{split}",
        "success_definition": f"final emotion >= {threshold:g} (simulator.pass_threshold)",
        "failure_definition": f"final emotion < {FAILURE_EMOTION:g}",
        "levels": [asdict(s) for s in scores],
    }
