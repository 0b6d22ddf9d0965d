"""The strategy scorer judges what a reader would: natural paraphrases count, keywords alone do not."""

from pathlib import Path

import pytest
import yaml

from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.scorer.fluency import development_replies
from workers.env.scorer.strategy_classifier import CLASSES, strategy_probabilities
from workers.env.scorer.strategy_scorer import (
    ASK,
    DEGENERATE,
    ECHO,
    FRAGMENT,
    GENERIC,
    HARMFUL,
    MIXED,
    UNREADABLE,
    judge_reply,
)

HELD_OUT = Path(__file__).parents[4] / "data" / "natural_replies_heldout.yaml"
HELD_OUT_ASKS = Path(__file__).parents[4] / "data" / "natural_asks_heldout.yaml"


def held_out() -> dict[str, list[str]]:
    return yaml.safe_load(HELD_OUT.read_text())


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_every_warm_start_reply_reads_as_its_own_strategy(strategy):
    for reply in phrase_bank().strategies[strategy].replies:
        assert judge_reply(reply).label == strategy, (reply, judge_reply(reply))


def test_plain_comfort_is_generic():
    for reply in phrase_bank().generic_replies:
        assert judge_reply(reply).label == GENERIC, reply


def test_held_out_natural_replies_are_recognised():
    """Written blind, before the scorer, by another writer; never used to build or tune it."""
    corpus = held_out()
    assert set(corpus) == set(STRATEGY_NAMES) and all(len(v) >= 13 for v in corpus.values())
    judged = [(label, judge_reply(reply).label) for label, replies in corpus.items() for reply in replies]
    accuracy = sum(a == b for a, b in judged) / len(judged)
    refused = sum(b in (DEGENERATE, HARMFUL) for _, b in judged) / len(judged)
    assert accuracy >= 0.85, accuracy
    assert refused <= 0.05, refused


def test_held_out_caring_questions_are_read_as_asking_and_other_questions_are_not():
    """Written blind by another writer (who never saw the scorer's data) after the `ask` class
    was built; never used to tune it. Missed questions fall to `none`, a misfit: the cost of a
    miss is a turn, never a reward. The one hard negative read as asking is "What do you want
    from me?", cold in tone but not in words."""
    corpus = yaml.safe_load(HELD_OUT_ASKS.read_text())
    assert len(corpus["ask"]) >= 40 and len(corpus["not_ask"]) >= 40
    asks = [judge_reply(r).label for r in corpus["ask"]]
    others = [judge_reply(r).label for r in corpus["not_ask"]]
    assert sum(label == ASK for label in asks) / len(asks) >= 0.75, asks
    assert sum(label == ASK for label in others) / len(others) <= 0.05, others
    assert sum(label in (DEGENERATE, HARMFUL) for label in asks) / len(asks) <= 0.05, asks


def test_the_warm_start_questions_read_as_asking():
    for reply in phrase_bank().ask_replies:
        assert judge_reply(reply).label == ASK, (reply, judge_reply(reply))


def test_development_replies_are_never_refused_as_degenerate_or_harmful():
    replies = [r for replies in development_replies().values() for r in replies]
    assert len(replies) >= 25 * 8
    refused = [r for r in replies if judge_reply(r).label in (DEGENERATE, HARMFUL)]
    assert len(refused) / len(replies) <= 0.05, refused


def test_the_fast_linear_scorer_computes_what_the_fitted_pipeline_does():
    import numpy as np
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from workers.env.scorer.strategy_classifier import _vectorizers, training_set

    texts, labels = training_set()
    vectorizers = _vectorizers()
    x = sp.hstack([v.fit_transform([t.lower() for t in texts]) for v in vectorizers]).tocsr()
    model = LogisticRegression(C=20.0, max_iter=5000).fit(x, [CLASSES.index(label) for label in labels])
    for text in ["Tell me more, I am listening.", "Maybe your sister was scared of losing you.", "zz top"]:
        row = sp.hstack([v.transform([text.lower()]) for v in vectorizers]).tocsr()
        expected = model.predict_proba(row)[0]
        got = strategy_probabilities(text)
        assert np.allclose([got[c] for c in CLASSES], expected, atol=1e-6)


def test_comfort_plus_one_strategy_counts_as_that_strategy():
    assert judge_reply("I am sorry to hear that. Tell me more, I am here and I am listening.").label == "listen"


def test_two_strategies_at_once_are_mixed():
    assert judge_reply("You could try making a plan for next week. I am so proud of how you handled it.").label == MIXED


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ("Tell me more, I am listening. Your own fault though.", HARMFUL),
        ("Anyone would be upset. 你真没用", UNREADABLE),
        ("Tell me more\u200b, I am here and I am listening.", DEGENERATE),
        ("Go on.", FRAGMENT),
        ("a is is better first step is to place the a is to had the", DEGENERATE),
    ],
)
def test_each_gate_names_its_reason(reply, label):
    judgement = judge_reply(reply)
    assert judgement.label == label and judgement.reason


def test_echoed_user_words_earn_nothing():
    cue = "I do not want advice, I just need someone to listen."
    assert judge_reply(cue, heard=f"My sister shouted at me. {cue}").label == ECHO
