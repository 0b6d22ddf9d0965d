import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.env.difficulty import rule_knobs
from workers.env.phrases import PERSONALITIES

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(d1=unit, d2=unit, personality=st.sampled_from(PERSONALITIES))
def test_every_knob_gets_harder_as_difficulty_rises(d1, d2, personality):
    lo, hi = sorted((d1, d2))
    easy, hard = rule_knobs(lo, personality), rule_knobs(hi, personality)
    assert hard.start_emotion <= easy.start_emotion
    assert hard.relief <= easy.relief
    assert hard.penalty >= easy.penalty
    assert hard.hack_penalty >= easy.hack_penalty
    assert hard.generic_delta <= easy.generic_delta
    assert hard.patience <= easy.patience
    assert hard.explicit_cue <= easy.explicit_cue
    assert hard.vague_cue <= easy.vague_cue
    assert hard.hint_on_miss <= easy.hint_on_miss


def test_end_points_match_the_documented_table():
    easy, hard = rule_knobs(0.0, "passive"), rule_knobs(1.0, "passive")
    assert (easy.start_emotion, hard.start_emotion) == (55.0, 30.0)
    assert (easy.penalty, hard.penalty) == (5.0, 20.0)
    assert (easy.generic_delta, hard.generic_delta) == (6.0, -20.0)
    assert rule_knobs(0.5, "negative").generic_delta == -rule_knobs(0.5, "negative").penalty
    assert rule_knobs(0.5, "negative").hack_penalty > rule_knobs(0.5, "negative").penalty
    assert easy.relief == pytest.approx(0.6 * 0.85) and hard.relief == pytest.approx(0.3 * 0.85)


@pytest.mark.parametrize("bad", [-0.01, 1.01])
def test_difficulty_outside_unit_interval_is_rejected(bad):
    with pytest.raises(ValueError, match="difficulty"):
        rule_knobs(bad, "negative")


def test_unknown_personality_is_rejected():
    with pytest.raises(ValueError, match="personality"):
        rule_knobs(0.5, "cheerful")
