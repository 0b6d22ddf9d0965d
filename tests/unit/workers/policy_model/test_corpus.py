from collections import Counter

from workers.env.phrases import phrase_bank
from workers.env.scenarios.english_scenarios import english_split
from workers.env.scorer.strategy_scorer import judge_reply
from workers.env.scripted_policies import detect_intent
from workers.policy_model.corpus import counselling_corpus


def test_corpus_is_deterministic_for_a_seed():
    assert counselling_corpus(50, seed=3) == counselling_corpus(50, seed=3)
    assert counselling_corpus(50, seed=3) != counselling_corpus(50, seed=4)


def test_replies_cover_every_strategy_but_ignore_the_users_intent():
    """The warm start must not pair strategies with intent cues: RL has to learn that."""
    pairs = Counter()
    for d in counselling_corpus(3000, seed=0):
        intent = detect_intent([d.turns[0][0]])
        if intent:
            pairs[(intent, judge_reply(d.turns[0][1]).label)] += 1
    intents = {i for i, _ in pairs}
    assert len(intents) == 8
    for intent in intents:
        row = {label: n for (i, label), n in pairs.items() if i == intent}
        assert len(row) == 10  # 8 strategies + generic comfort + a caring question
        matched = row.get(intent, 0) / sum(row.values())
        assert matched < 0.2  # ~1/10 by construction, never learned from the corpus
        assert row["ask"] / sum(row.values()) < 0.2  # asked as often whether or not a cue shows


def test_a_question_is_answered_the_way_the_rule_user_answers_it():
    bank = phrase_bank()
    answers = Counter()
    for d in counselling_corpus(3000, seed=0):
        if len(d.turns) < 2 or judge_reply(d.turns[0][1]).label != "ask":
            continue
        revealed = detect_intent([d.turns[0][0]]) is not None
        answer = d.turns[1][0]
        if revealed:
            kind = "again" if answer in bank.reactions["asked_again"] else "other"
        else:
            kind = "deflect" if answer in bank.reactions["deflect"] else ("told" if detect_intent([answer]) else "other")
        answers[(revealed, kind)] += 1
    assert answers[(True, "other")] == answers[(False, "other")] == 0, answers
    assert answers[(False, "told")] > answers[(False, "deflect")] > 0 and answers[(True, "again")] > 0


def test_corpus_never_uses_held_out_situations_or_cue_phrasings():
    test_situations = {s.situation.replace("{other}", "").strip() for s in english_split("test")}
    bank = phrase_bank()
    test_cues = {c for s in bank.strategies.values() for c in (*s.explicit["test"], *s.vague["test"])}
    for d in counselling_corpus(500, seed=1):
        said = " ".join(user for user, _ in d.turns)
        assert not any(s in said for s in test_situations)
        assert not any(c in said for c in test_cues)
