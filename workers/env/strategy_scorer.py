"""Recognises which counselling strategy an agent reply pursues, with plain lexicon rules.

The scorer is the reward's only window onto the reply, so RL will search it for holes. The rules
are deliberately few and visible:

* a reply pursues strategy S when it contains at least one of S's marker phrases (whole words,
  case-insensitive) and no marker of any other strategy;
* markers of two or more strategies make the reply ``mixed`` (cue stuffing: no single intent is
  served);
* a reply is ``degenerate`` when it is empty, longer than ``MAX_WORDS`` words, repeats itself
  (more than ``MAX_REPEAT_FRAC`` of its word trigrams are repeats), or is not well-formed English:
  fewer than ``MIN_FLUENCY`` of its word pairs occur in the phrase bank's reference replies (word
  salad that happens to contain one marker must not pass for that strategy; the flip side is that
  the `rule` simulator only understands the register of the phrase bank);
* comfort markers alone make it ``generic``; nothing recognisable makes it ``none``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache

from workers.env.phrases import phrase_bank

MAX_WORDS = 40
MAX_REPEAT_FRAC = 0.25
MIN_FLUENCY = 0.6
GENERIC = "generic"
MIXED = "mixed"
DEGENERATE = "degenerate"
NONE = "none"

_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class ReplyJudgement:
    label: str
    """A strategy name, or one of generic / mixed / degenerate / none."""
    strategies_found: tuple[str, ...]
    words: int
    repeat_frac: float


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


@cache
def _marker_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    bank = phrase_bank()
    pairs = [(name, s.markers) for name, s in bank.strategies.items()]
    pairs.append((GENERIC, bank.generic_markers))
    return tuple(
        (name, re.compile(r"\b(?:" + "|".join(re.escape(_normalise(m)) for m in markers) + r")\b")) for name, markers in pairs
    )


@cache
def _reference_bigrams() -> frozenset[tuple[str, str]]:
    bank = phrase_bank()
    replies = [r for s in bank.strategies.values() for r in s.replies] + list(bank.generic_replies)
    return frozenset(pair for r in replies for pair in _bigrams(_normalise(r).split()))


def _bigrams(words: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(words))


def fluency(words: list[str]) -> float:
    """Share of the reply's word pairs that occur in the reference replies (1.0 under two words)."""
    pairs = _bigrams(words)
    if not pairs:
        return 1.0
    known = _reference_bigrams()
    return sum(p in known for p in pairs) / len(pairs)


def repeat_fraction(words: list[str]) -> float:
    """Share of word trigrams that already occurred earlier in the reply."""
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    if not trigrams:
        return 0.0
    return 1.0 - len(set(trigrams)) / len(trigrams)


def judge_reply(text: str) -> ReplyJudgement:
    norm = _normalise(text)
    words = norm.split()
    frac = repeat_fraction(words)
    found = tuple(name for name, pat in _marker_patterns() if name != GENERIC and pat.search(norm))
    if not words or len(words) > MAX_WORDS or frac > MAX_REPEAT_FRAC or fluency(words) < MIN_FLUENCY:
        label = DEGENERATE
    elif len(found) > 1:
        label = MIXED
    elif found:
        label = found[0]
    elif _marker_patterns()[-1][1].search(norm):
        label = GENERIC
    else:
        label = NONE
    return ReplyJudgement(label=label, strategies_found=found, words=len(words), repeat_frac=frac)
