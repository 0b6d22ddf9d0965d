import json

import pytest

from workers.env.phrases import PERSONALITIES, STRATEGY_NAMES
from workers.env.scenarios.rlver_scenarios import RLVER_INTENTS, ScenarioFileError, load_profiles, rlver_split
from workers.env.scenarios.scenario_bank import load_scenarios

GOOD = {
    "id": "a1",
    "player": "persona",
    "scene": "scene",
    "main_cha": "负面型",
    "cha_group": ["内向"],
    "task": next(iter(RLVER_INTENTS)),
}


def test_shipped_profiles_load_with_every_intent_and_personality():
    train, test = rlver_split("train"), rlver_split("test")
    assert (len(train), len(test)) == (500, 100)
    for split in (train, test):
        assert {s.intent for s in split} == set(STRATEGY_NAMES)
        assert {s.personality for s in split} == set(PERSONALITIES)
        assert all(s.language == "zh" for s in split)
    assert not {s.id for s in train} & {s.id for s in test}
    assert load_scenarios("rlver", "test") == test


def test_bad_rows_are_reported_by_line_number(tmp_path):
    rows = [
        json.dumps(GOOD),
        "{not json",
        json.dumps({**GOOD, "id": "a2", "task": "something else"}),
        "",
        json.dumps({**GOOD, "id": "a3", "main_cha": "快乐型"}),
        json.dumps({**GOOD, "player": ""}),
        json.dumps(GOOD),
        json.dumps([1, 2]),
    ]
    path = tmp_path / "profiles.jsonl"
    path.write_text("\n".join(rows), encoding="utf-8")
    with pytest.raises(ScenarioFileError) as err:
        load_profiles(path)
    message = str(err.value)
    assert message.startswith("6 bad row(s)")
    expected = [(2, "not valid JSON"), (3, "'task'"), (5, "'main_cha'"), (6, "'player'"), (7, "duplicate id"), (8, "JSON object")]
    for line, what in expected:
        assert f"{path}:{line}: " in message and what in message


def test_a_good_file_loads_and_a_missing_one_is_named(tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    (scenario,) = load_profiles(path)
    assert scenario.id == "rlver-a1" and scenario.intent == "validate" and scenario.traits == ("内向",)
    with pytest.raises(ScenarioFileError, match=r"missing\.jsonl"):
        load_profiles(tmp_path / "missing.jsonl")


def test_unknown_bank_and_split_are_named():
    with pytest.raises(ValueError, match="'klingon'"):
        load_scenarios("klingon", "train")
    with pytest.raises(ValueError, match="'dev'"):
        rlver_split("dev")
