"""A scenario: who the simulated user is, what happened to them, and what they secretly need."""

from __future__ import annotations

from dataclasses import dataclass, replace

from workers.env.scenarios.draws import stable_pick


@dataclass(frozen=True)
class Scenario:
    id: str
    persona: str
    situation: str
    """What happened. In our English bank a template whose `{other}` (the counterpart) and
    `{name}` are filled per group by `realise`, so nothing but the need identifies a user."""
    personality: str
    """negative / passive / avoidant (RLVER's `main_cha`)."""
    intent: str
    """The hidden need, named after the one strategy that serves it."""
    topic: str
    language: str = "en"
    """Language of the user's text; picks the prompt files of the `llm` simulator."""
    traits: tuple[str, ...] = ()
    split: str = "train"
    """`train` or `test`: the English bank's held-out split also has cue phrasings of its own."""
    others: tuple[str, ...] = ()
    """Counterparts `realise` may put into the situation."""
    names: tuple[str, ...] = ()
    """Persona names `realise` may draw."""


def scenario_bucket(scenario: Scenario, by: str = "personality") -> str:
    """The group a per-scenario curriculum pools its evidence in and sets one level for.

    `personality` (what the opening shows anyway) cannot tell the policy anything through the
    level; `need_personality` can: difficulty decides whether the opening carries a cue, so a need
    kept at a higher level than another opens cue-less more often (bench/memorisation.py
    --levels-from measures it)."""
    if by == "personality":
        return scenario.personality
    if by == "need_personality":
        return f"{scenario.intent}/{scenario.personality}"
    raise ValueError(f"scenario buckets are by personality or need_personality, not {by!r}")


def realise(scenario: Scenario, seed: int) -> Scenario:
    """The scenario as one group meets it: counterpart and name drawn from the group's seed (every
    member of a GRPO group meets the same user; another group may meet another counterpart)."""
    if not scenario.others and not scenario.names:
        return scenario
    other = stable_pick(scenario.others, seed, scenario.topic, "other") if scenario.others else ""
    name = stable_pick(scenario.names, seed, scenario.topic, "name") if scenario.names else ""
    return replace(
        scenario,
        situation=scenario.situation.format(other=other),
        persona=scenario.persona.format(name=name),
        others=(),
        names=(),
    )
