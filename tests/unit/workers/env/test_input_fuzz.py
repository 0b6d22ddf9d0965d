"""Malformed scenario rows, simulator responses and model replies, generated: each is refused with
an error naming the file and line, read as a counted fallback, or handled - never a traceback
from deep inside."""

import json
import math
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.env.scenarios.rlver_scenarios import ScenarioFileError, parse_profiles
from workers.env.scenarios.scenario_bank import load_scenarios
from workers.env.scorer.strategy_scorer import LABELS, judge_reply
from workers.env.users.llm_simulator import MAX_CHANGE, parse_change
from workers.env.users.rule_simulator import RuleSimulator
from workers.thinking import visible_reply

with (resources.files("workers") / "env/data/rlver/train_profile.jsonl").open(encoding="utf-8") as rows:
    GOOD_ROW = json.loads(rows.readline())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([*GOOD_ROW, "extra"]), json_values, max_size=4), st.integers(0, 3))
def test_profile_rows_with_fields_replaced_or_dropped(changes, drop):
    row = {**GOOD_ROW, **changes}
    for key in list(row)[:drop]:
        row.pop(key)
    line = json.dumps(row, ensure_ascii=False)
    try:
        (scenario,) = parse_profiles([line], "fuzz.jsonl")
    except ScenarioFileError as exc:
        assert "fuzz.jsonl:1: " in str(exc)
        return
    assert scenario.situation.strip() and scenario.intent


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=4))
def test_profile_files_of_arbitrary_lines(lines):
    try:
        parse_profiles(lines, "fuzz.jsonl")
    except ScenarioFileError as exc:
        assert "fuzz.jsonl:" in str(exc)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=120),
        st.builds(lambda v: json.dumps({"change": v}), json_values),
        st.builds(lambda v: f'{{"change": {v}}}', st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "--3", "0x10"])),
        st.builds(lambda v: f"change: {v}", st.text(max_size=12)),
    )
)
def test_simulator_analyses_parse_to_a_bounded_change_or_a_counted_failure(text):
    change = parse_change(text)
    assert change is None or (math.isfinite(change) and -MAX_CHANGE <= change <= MAX_CHANGE)


def test_a_nan_change_is_unreadable_not_the_largest_gain():
    assert parse_change('{"change": NaN}') is None
    assert parse_change('{"change": -Infinity}') == -MAX_CHANGE


ODD_REPLIES = st.one_of(
    st.just(""),
    st.lists(st.sampled_from(["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "\n"]), max_size=20).map(
        "".join
    ),
    st.text(min_size=2000, max_size=6000),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),
    st.text(max_size=200),
)


@settings(max_examples=200, deadline=None)
@given(ODD_REPLIES, st.sampled_from(["plain", "think"]), st.floats(0, 1))
def test_odd_model_replies_reach_the_rule_user_as_a_turn(reply, template, difficulty):
    """What the rollout worker does with a reply: cut the visible part (None is a counted format
    violation), then the user scores it - with a label, an emotion in range and an answer."""
    visible = visible_reply(reply, template)
    if visible is None:
        assert template == "think"
        return
    judge_reply(visible)
    scenario = load_scenarios("en", "train")[0]
    sim = RuleSimulator(max_turns=3, pass_threshold=70, seed=1)
    sim.start(scenario, difficulty)
    turn = sim.step(visible)
    assert 0.0 <= turn.emotion <= 100.0 and isinstance(turn.message, str) and turn.label in LABELS


@pytest.mark.parametrize("bad", [b"\xff\xfe\xfa", b"\xc3\x28", b"\xe2\x82", b"x\x00y"])
def test_non_utf8_bytes_as_decoded_by_the_worker_are_plain_text(bad):
    text = bad.decode("utf-8", errors="replace")
    assert judge_reply(text).label in LABELS
