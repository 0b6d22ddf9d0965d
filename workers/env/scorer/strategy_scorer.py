"""Which counselling strategy an agent reply pursues, judged the way a reader would.

The scorer is the reward's only window onto the reply, so RL will search it for holes. It reads
the whole reply, every character of it, through strict gates before a learned classifier
(`strategy_classifier.py`) names the strategy. In order (word salad, the costliest check, last
of the three refusals):

1. `degenerate`: empty; invisible or control characters anywhere; shouting or aLtErNaTiNg case;
   a run of five or more of one character; longer than `MAX_CHARS` characters or `MAX_WORDS`
   words; repetitive (over `MAX_REPEAT_FRAC` of word trigrams repeated, a sentence said twice, a
   word twice in a row); word salad (a reply of `MIN_ORDER_WORDS` or more whose word order is
   liked less than `MIN_ORDER` of shuffles of its own words, `fluency.py`).
2. `harmful`: hostile, blaming, mocking or retracting content anywhere in the reply
   (`harm_lexicon.py`); it costs the user more than any misfit.
3. `unreadable`: text the user cannot read: letters of another script, emoji or symbols, or
   under `MIN_ENGLISH` of its words English, or two unknown words within five (another
   language, digit strings, noise; `fluency.py`). A misfit.
4. `echo` / `fragment`: words inside four-word runs the user said (speaker folded: "I need" and
   "you need" are one run) earn nothing; what remains must hold a content clause (a clause of
   `MIN_CLAUSE_WORDS` words or more with a verb, `reply_text.has_clause`; `MIN_FIT_WORDS` words
   in all), else the reply is an `echo` (mostly the user's words) or a `fragment`. Lists of
   phrases ("first step, plan, next time, try") have no clause. A misfit.
5. The classifier reads what remains: a strategy when it is at least `MIN_CONFIDENCE` sure and no
   second strategy is at least `MIXED_SECOND`; two strategies at once, or signature phrases of
   three or more (the caring question's among them), make it `mixed` (stuffing: it serves no single
   need, and costs like `degenerate`); `generic` for plain comfort; `ask` for an open, caring
   question about what would help (what the user makes of it is the simulator's business: it
   never raises emotion itself); `none` otherwise.

What it cannot judge: grammar (a fitting sentence followed by locally plausible nonsense still
fits; about a quarter of full shuffles of natural replies pass the word-order check), whether the
advice is good, whether the reply fits the user's situation beyond the need, tone beyond the harm
lexicon, or any language but English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.scorer.fluency import english_share, foreign_run, order_score
from workers.env.scorer.harm_lexicon import find_harm
from workers.env.scorer.reply_text import (
    clauses,
    echoed_positions,
    has_clause,
    odd_casing,
    repeat_fraction,
    repeated_sentence,
    text_facts,
)
from workers.env.scorer.strategy_classifier import ASK, GENERIC, NONE, SCORER_VERSION, strategy_probabilities

MAX_CHARS = 300
MAX_WORDS = 45
MAX_REPEAT_FRAC = 0.25
MAX_CHAR_RUN = 4
MIN_ORDER = 0.75
MIN_ORDER_WORDS = 8
MIN_ENGLISH = 0.85
MIN_CLAUSE_WORDS = 3
MIN_FIT_WORDS = 6
MIN_CONFIDENCE = 0.4
MIXED_SECOND = 0.25
STUFFED_SIGNATURES = 3

MIXED = "mixed"
DEGENERATE = "degenerate"
HARMFUL = "harmful"
UNREADABLE = "unreadable"
ECHO = "echo"
FRAGMENT = "fragment"
LABELS = (*STRATEGY_NAMES, GENERIC, ASK, NONE, MIXED, DEGENERATE, HARMFUL, UNREADABLE, ECHO, FRAGMENT)

__all__ = ["ASK", "GENERIC", "LABELS", "NONE", "SCORER_VERSION", "ReplyJudgement", "judge_reply"]


@dataclass(frozen=True)
class ReplyJudgement:
    label: str
    """A strategy name, or generic / ask / none / mixed / degenerate / harmful / unreadable / echo / fragment."""
    reason: str
    """Why, in a few words (which gate fired, or the classifier's confidence)."""
    words: int


@cache
def _signature_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    bank = phrase_bank()
    markers = {name: s.markers for name, s in bank.strategies.items()} | {ASK: bank.ask_markers}
    return tuple((name, re.compile(r"\b(?:" + "|".join(map(re.escape, m)) + r")\b")) for name, m in markers.items())


def _says_something(parts: list[tuple[str, ...]]) -> bool:
    return any(len(c) >= MIN_CLAUSE_WORDS and has_clause(c) for c in parts) and sum(map(len, parts)) >= MIN_FIT_WORDS


def judge_reply(text: str, heard: str = "") -> ReplyJudgement:
    """Judge `text`, a reply to a user who has said `heard` so far."""
    return _judge(text, heard)


@lru_cache(maxsize=65536)
def _judge(text: str, heard: str) -> ReplyJudgement:
    facts = text_facts(text)
    n = len(facts.words)

    def verdict(label: str, reason: str) -> ReplyJudgement:
        return ReplyJudgement(label, reason, n)

    if not facts.words:
        return verdict(DEGENERATE, "no words")
    if facts.invisible:
        return verdict(DEGENERATE, f"{facts.invisible} invisible or control characters")
    if odd_casing(facts.text):
        return verdict(DEGENERATE, "shouting or alternating case")
    if facts.longest_run > MAX_CHAR_RUN:
        return verdict(DEGENERATE, f"a run of {facts.longest_run} identical characters")
    if facts.chars > MAX_CHARS or n > MAX_WORDS:
        return verdict(DEGENERATE, f"too long ({facts.chars} characters, {n} words)")
    if repeat_fraction(facts.words) > MAX_REPEAT_FRAC or repeated_sentence(facts.sentences):
        return verdict(DEGENERATE, "repetitive")
    if harm := find_harm(facts.text):
        return verdict(HARMFUL, f"{harm[0]}: {harm[1]!r}")
    if facts.unreadable:
        return verdict(UNREADABLE, f"{facts.unreadable} characters outside plain English text")
    if (share := english_share(facts.words)) < MIN_ENGLISH or foreign_run(facts.words):
        return verdict(UNREADABLE, f"{share:.0%} English words, or a run of words no English dictionary knows")
    if n >= MIN_ORDER_WORDS and (order := order_score(facts.sentences)) < MIN_ORDER:
        return verdict(DEGENERATE, f"word salad (word order {order:.2f})")
    echoed = echoed_positions(facts.words, text_facts(heard).words) if heard else set()
    remaining, position = [], 0
    for clause in clauses(facts.text):
        remaining.append(tuple(w for i, w in enumerate(clause, start=position) if i not in echoed))
        position += len(clause)
    if not _says_something(remaining):
        if len(echoed) * 2 >= n:
            return verdict(ECHO, f"{len(echoed)} of {n} words repeat the user")
        return verdict(FRAGMENT, "no content clause")
    own_words = " ".join(" ".join(s) for s in remaining)
    signatures = [name for name, pattern in _signature_patterns() if pattern.search(own_words)]
    if len(signatures) >= STUFFED_SIGNATURES:
        return verdict(MIXED, "signature phrases of " + ", ".join(signatures))
    probabilities = strategy_probabilities(own_words)
    ranked = sorted(probabilities.items(), key=lambda kv: -kv[1])
    (best, p_best), runner_up = ranked[0], next((kv for kv in ranked[1:] if kv[0] in STRATEGY_NAMES), None)
    if best in STRATEGY_NAMES and runner_up and runner_up[1] >= MIXED_SECOND:
        return verdict(MIXED, f"{best} {p_best:.2f} and {runner_up[0]} {runner_up[1]:.2f}")
    if p_best < MIN_CONFIDENCE:
        return verdict(NONE, f"no class is sure enough ({best} {p_best:.2f})")
    return verdict(best, f"classifier {p_best:.2f}")
