import pytest

from workers.env.scenarios.scenario_bank import load_scenarios
from workers.env.users.difficulty import EpisodeDraws, episode_draws, rule_knobs
from workers.env.users.llm_prompts import LANGUAGES, disclosure_text, intent_text, level_index, level_text, prompt_set
from workers.env.users.llm_simulator import emotion_delta, parse_change


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"change": 4, "reason": "ok"}', 4.0),
        ('Sure! ```json\n{"change": -3, "reason": "lecturing"}\n```', -3.0),
        ('{"reason": "x"} then {"change": 2.5}', 2.5),
        ('They wrote {"change": 10}. My answer: {"change": -3, "reason": "pushy"}', -3.0),
        ("the reply says change: 9, but change: -2", -2.0),
        ("change: -7", -7.0),
        ('"Change" = 12', 10.0),
        ('{"change": -40}', -10.0),
        ('{"change": true}', None),
        ('{"change": "5"}', None),
        ("I feel better, thanks", None),
        ("", None),
    ],
)
def test_parse_change_is_tolerant_but_never_guesses(text, expected):
    assert parse_change(text) == expected


def test_emotion_delta_scales_help_by_relief_and_harm_by_penalty():
    knobs = rule_knobs(0.5, "negative", episode_draws(0, "k"))
    assert emotion_delta(10, 40.0, knobs) == pytest.approx(knobs.relief * 60)
    assert emotion_delta(5, 40.0, knobs) == pytest.approx(0.5 * knobs.relief * 60)
    assert emotion_delta(-10, 40.0, knobs) == pytest.approx(-knobs.penalty)
    assert emotion_delta(0, 40.0, knobs) == 0


@pytest.mark.parametrize(("d", "level"), [(0.0, 0), (0.24, 0), (0.26, 1), (0.5, 1), (0.74, 1), (0.76, 2), (1.0, 2)])
def test_difficulty_selects_the_nearest_prompt_level(d, level):
    assert level_index(d) == level


def test_level_text_carries_the_exact_strictness():
    prompts = prompt_set("en")
    assert level_text(prompts, 0.37).endswith("(strictness 37/100)")
    assert level_text(prompts, 0.37).startswith(prompts.levels[1])


def test_disclosure_follows_the_rule_simulators_cue_knobs():
    prompts = prompt_set("en")
    draws = EpisodeDraws(0.5, 0.5, 0.6, 0.5, 0.5, 0.5, seed=0, key="k")
    assert disclosure_text(prompts, rule_knobs(0.1, "passive", draws)) == prompts.disclosure[0]
    assert disclosure_text(prompts, rule_knobs(0.5, "passive", draws)) == prompts.disclosure[1]
    assert disclosure_text(prompts, rule_knobs(0.95, "passive", draws)) == prompts.disclosure[2]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_prompt_formats_with_the_fields_the_simulator_fills(language):
    prompts = prompt_set(language)
    fields = dict(persona="p", situation="s", intent="i", emotion=40, level="l", disclosure="d", tag="reply-0")
    for template in (prompts.analyse, prompts.reply, prompts.rlver.analyse, prompts.rlver.reply):
        text = template.format(**fields, mood="m", analysis="a")
        assert "{" not in text.replace('{"change"', "")
    assert "<reply-0>" in prompts.analyse.format(**fields) and "<reply-0>" in prompts.rlver.analyse.format(**fields)
    assert prompts.goodbye and prompts.leave and prompts.opening and prompts.rlver.opening


def test_unknown_language_is_named():
    with pytest.raises(ValueError, match="'fr'"):
        prompt_set("fr")


def test_hidden_intent_reads_in_the_prompt_language():
    zh = load_scenarios("rlver", "test")[0]
    assert intent_text(zh, "zh").startswith("你")
    en = load_scenarios("en", "test")[0]
    assert intent_text(en, "en") == "agree that I was not wrong"
