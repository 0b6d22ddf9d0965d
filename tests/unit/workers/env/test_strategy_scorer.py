import pytest

from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.strategy_scorer import (
    DEGENERATE,
    GENERIC,
    MAX_WORDS,
    MIXED,
    fluency,
    judge_reply,
    repeat_fraction,
)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_every_warm_start_reply_reads_as_its_own_strategy(strategy):
    for reply in phrase_bank().strategies[strategy].replies:
        assert judge_reply(reply).label == strategy, reply


def test_plain_comfort_is_generic():
    for reply in phrase_bank().generic_replies:
        assert judge_reply(reply).label == GENERIC, reply


def test_comfort_plus_one_strategy_counts_as_that_strategy():
    assert judge_reply("I am sorry to hear that. Tell me more, I am listening.").label == "listen"


def test_markers_of_two_strategies_make_a_mixed_reply():
    j = judge_reply("You could try a plan. I am proud of you.")
    assert j.label == MIXED
    assert set(j.strategies_found) == {"advise", "praise"}


def test_markers_match_whole_words_case_insensitively():
    assert judge_reply("GO ON, I AM LISTENING.").label == "listen"
    assert judge_reply("the gong onward").label == DEGENERATE  # no known word pair either
    assert judge_reply("I am sorry to hear that.").label == GENERIC


@pytest.mark.parametrize(
    "text",
    ["", "   ", " ".join(["word"] * (MAX_WORDS + 1)), "tell me more tell me more tell me more tell me more"],
)
def test_empty_overlong_and_repetitive_replies_are_degenerate(text):
    assert judge_reply(text).label == DEGENERATE


def test_repeat_fraction_hand_computed():
    # trigrams: (a b c) (b c a) (c a b) (a b c) -> 4 trigrams, 3 distinct
    assert repeat_fraction("a b c a b c".split()) == pytest.approx(0.25)
    assert repeat_fraction(["a", "b"]) == 0.0


def test_word_salad_with_one_marker_is_degenerate_not_that_strategy():
    salad = "It is. asking a really time of something. Ask had a is is better first step is to place."
    assert fluency(salad.lower().replace(".", "").split()) < 0.6
    assert judge_reply(salad).label == DEGENERATE


def test_recombined_bank_sentences_stay_fluent():
    reply = "I am listening. Take your time with it."
    assert judge_reply(reply).label == "listen"


def test_each_strategy_opens_with_words_of_its_own():
    bank = phrase_bank()
    openers = {name: {r.split()[0].strip(",") for r in s.replies} for name, s in bank.strategies.items()}
    openers["generic"] = {r.split()[0].strip(",") for r in bank.generic_replies}
    for name, words in openers.items():
        others = set().union(*(w for n, w in openers.items() if n != name))
        assert not words & others, (name, words & others)
