import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.env.phrases import PERSONALITIES
from workers.env.users.difficulty import START_JITTER, EpisodeDraws, episode_draws, rule_knobs

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
draw = st.floats(min_value=0.0, max_value=1.0, exclude_max=True, allow_nan=False)


@given(
    d1=unit,
    d2=unit,
    personality=st.sampled_from(PERSONALITIES),
    u=st.tuples(draw, draw, draw, draw, draw, draw),
    turn=st.integers(1, 8),
)
def test_with_the_same_draws_every_knob_gets_harder_as_difficulty_rises(d1, d2, personality, u, turn):
    lo, hi = sorted((d1, d2))
    draws = EpisodeDraws(*u, seed=0, key="k")
    easy, hard = rule_knobs(lo, personality, draws), rule_knobs(hi, personality, draws)
    assert hard.start_emotion <= easy.start_emotion
    assert hard.relief <= easy.relief
    assert hard.guessed_relief <= easy.guessed_relief <= easy.relief
    assert hard.penalty >= easy.penalty
    assert hard.hack_penalty >= easy.hack_penalty
    assert hard.harm_penalty >= easy.harm_penalty > easy.penalty
    assert hard.generic_delta <= easy.generic_delta
    assert hard.patience <= easy.patience
    assert hard.explicit_cue <= easy.explicit_cue
    assert hard.vague_cue <= easy.vague_cue
    assert hard.hint_on_miss(turn) <= easy.hint_on_miss(turn)
    assert hard.questions_needed >= easy.questions_needed >= 1
    assert hard.disclose_explicit <= easy.disclose_explicit
    assert hard.ask_cost >= easy.ask_cost >= 0


def test_end_points_match_the_documented_table():
    middle = EpisodeDraws(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, seed=0, key="k")
    easy, hard = rule_knobs(0.0, "passive", middle), rule_knobs(1.0, "passive", middle)
    assert (easy.start_emotion, hard.start_emotion) == (55.0, 30.0)
    assert (easy.penalty, hard.penalty) == (5.0, 20.0)
    assert (easy.generic_delta, hard.generic_delta) == (3.0, -12.0)
    assert easy.relief == pytest.approx(0.6 * 0.85) and hard.relief == pytest.approx(0.3 * 0.85)
    assert (easy.patience, hard.patience) == (3, 1)
    assert (easy.questions_needed, hard.questions_needed) == (1, 2)
    assert (easy.ask_cost, hard.ask_cost) == (0.0, 4.0)
    assert hard.guessed_relief == pytest.approx(hard.relief / 2) and easy.guessed_relief == easy.relief
    low = EpisodeDraws(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, seed=0, key="k")
    assert rule_knobs(0.0, "passive", low).start_emotion == 55.0 - START_JITTER
    assert rule_knobs(0.5, "negative", middle).hack_penalty > rule_knobs(0.5, "negative", middle).penalty


def test_cue_visibility_is_a_probability_falling_over_the_whole_knob():
    draws = [episode_draws(seed, "en-report-listen-negative") for seed in range(4000)]
    for d, vague in ((0.0, 1.0), (0.25, 0.75), (0.5, 0.5), (0.75, 0.25), (1.0, 0.0)):
        shown = sum(rule_knobs(d, "passive", x).vague_cue for x in draws) / len(draws)
        assert shown == pytest.approx(vague, abs=0.03)
    explicit = sum(rule_knobs(0.25, "passive", x).explicit_cue for x in draws) / len(draws)
    assert explicit == pytest.approx(0.5, abs=0.03)


def test_users_need_more_asking_and_tell_less_as_difficulty_rises():
    draws = [episode_draws(seed, "en-report-listen-negative") for seed in range(4000)]
    for d in (0.0, 0.25, 0.5, 0.75, 1.0):
        knobs = [rule_knobs(d, "passive", x) for x in draws]
        assert sum(k.questions_needed == 2 for k in knobs) / len(knobs) == pytest.approx(d, abs=0.03)
        assert sum(k.disclose_explicit for k in knobs) / len(knobs) == pytest.approx(1 - d, abs=0.03)


@pytest.mark.parametrize("bad", [-0.01, 1.01])
def test_difficulty_outside_unit_interval_is_rejected(bad):
    with pytest.raises(ValueError, match="difficulty"):
        rule_knobs(bad, "negative", episode_draws(0, "k"))


def test_unknown_personality_is_rejected():
    with pytest.raises(ValueError, match="personality"):
        rule_knobs(0.5, "cheerful", episode_draws(0, "k"))
