"""Scenario buckets: what `per_scenario` sets one level for."""

import pytest

from workers.env.scenarios.english_scenarios import english_split
from workers.env.scenarios.scenario import scenario_bucket


def test_personality_buckets_hold_every_need_alike():
    """A level per personality bucket is the same for every need of that personality: the level
    cannot name the need (bench/memorisation.py --levels-from measures the other keying)."""
    scenarios = english_split("all")
    by_bucket: dict[str, set[str]] = {}
    for scenario in scenarios:
        by_bucket.setdefault(scenario_bucket(scenario), set()).add(scenario.intent)
    assert set(by_bucket) == {s.personality for s in scenarios}
    assert all(needs == {s.intent for s in scenarios} for needs in by_bucket.values())
    assert len({scenario_bucket(s, "need_personality") for s in scenarios}) == len(by_bucket) * 8


def test_an_unknown_keying_is_refused_by_name():
    with pytest.raises(ValueError, match="'need'"):
        scenario_bucket(english_split("all")[0], "need")
