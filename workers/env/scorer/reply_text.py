"""What a reader sees in a reply: its characters, words and sentences, before any meaning.

Every character counts. A policy trained against a scorer will try whatever the scorer cannot
see: invisible or control characters, other scripts, emoji, digits, runs of one character. These
functions surface all of them, so the gates in `strategy_scorer.py` can refuse a reply for them
instead of reading around them.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

ALLOWED_PUNCTUATION = frozenset(".,!?;:'\"-()…’‘“”–—")
"""Punctuation of plain English text; typographic quotes and dashes are folded to ASCII."""
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."})
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+|[.,!?;:]")
_SENTENCE_END = re.compile(r"[.!?;]+")
_RUN = re.compile(r"(.)\1{4,}", re.DOTALL)


@dataclass(frozen=True)
class TextFacts:
    text: str
    """The reply, NFC-normalised, typographic punctuation folded to ASCII."""
    chars: int
    invisible: int
    """Format, control, private-use, unassigned and non-space whitespace characters."""
    unreadable: int
    """Letters outside the basic Latin alphabet, emoji, and symbols other than plain punctuation
    (ASCII ones such as # or < included): text an English reader (and this scorer) cannot read."""
    longest_run: int
    """Longest run of one repeated character."""
    words: tuple[str, ...]
    """Lower-case word and number tokens, in order (punctuation dropped)."""
    sentences: tuple[tuple[str, ...], ...]
    """The words of each sentence (split at . ! ? ;)."""


def _is_invisible(ch: str) -> bool:
    if ch in " \n\t":
        return False
    category = unicodedata.category(ch)
    return category[0] in "CZ"  # Cc Cf Co Cn Cs, and Zs/Zl/Zp other than a plain space


def _is_unreadable(ch: str) -> bool:
    if ch in ALLOWED_PUNCTUATION or (ch.isascii() and (ch.isalnum() or ch in " \n\t")):
        return False
    return not _is_invisible(ch)


@lru_cache(maxsize=8192)
def text_facts(reply: str) -> TextFacts:
    """Cached (a batch's worth): the scorer reads a user's words afresh at every turn of its dialogue."""
    text = unicodedata.normalize("NFC", reply)
    runs = [len(m.group(0)) for m in _RUN.finditer(text)]
    folded = text.translate(_FOLD)
    lowered = folded.lower()
    sentences = tuple(
        words for part in _SENTENCE_END.split(lowered) if (words := tuple(t for t in _TOKEN.findall(part) if t not in ",:"))
    )
    return TextFacts(
        text=folded,
        chars=len(text),
        invisible=sum(_is_invisible(c) for c in text),
        unreadable=sum(_is_unreadable(c) for c in text),
        longest_run=max(runs, default=1),
        words=tuple(t for t in _TOKEN.findall(lowered) if t not in ".,!?;:"),
        sentences=sentences,
    )


def repeat_fraction(words: tuple[str, ...] | list[str]) -> float:
    """Share of word trigrams that already occurred earlier in the reply."""
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    if not trigrams:
        return 0.0
    return 1.0 - len(set(trigrams)) / len(trigrams)


def repeated_sentence(sentences: tuple[tuple[str, ...], ...]) -> bool:
    """The same sentence (of three words or more) twice, or a content word twice in a row."""
    long = [s for s in sentences if len(s) >= 3]
    words = [w for s in sentences for w in s]
    stutter = any(a == b and len(a) > 3 for a, b in itertools.pairwise(words))
    return len(set(long)) < len(long) or stutter


_SPEAKER_FOLD = {"i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "am": "are", "was": "were",
                 "i'm": "you're", "i've": "you've", "i'd": "you'd", "i'll": "you'll"}  # fmt: skip


def echoed_positions(words: tuple[str, ...], heard: tuple[str, ...], n: int = 4) -> set[int]:
    """Positions of the reply's words that lie inside a run of `n` or more words the user said,
    with the speaker folded ("I need someone to tell me" and "you need someone to tell you" are
    the same words back)."""
    fold = lambda ws: [_SPEAKER_FOLD.get(w, w) for w in ws]  # noqa: E731
    said_words, own = fold(heard), fold(words)
    said = {tuple(said_words[i : i + n]) for i in range(len(said_words) - n + 1)}
    covered: set[int] = set()
    for i in range(len(own) - n + 1):
        if tuple(own[i : i + n]) in said:
            covered.update(range(i, i + n))
    return covered


SUBJECTS = frozenset(
    "i you he she it we they that this there who what someone anyone everyone nobody somebody people "
    "i'm you're he's she's it's we're they're that's there's i've you've we've they've i'd you'd i'll you'll".split()
)
IMPERATIVES = frozenset(
    "tell go take keep try make ask write talk let give start think look imagine consider remember be do don't feel "
    "say share call send plan rest breathe focus notice wait please".split()
)


AUXILIARIES = frozenset(
    "am is are was were be been being has have had do does did can could will would shall should may might must "
    "isn't aren't wasn't weren't hasn't haven't hadn't don't doesn't didn't can't couldn't won't wouldn't shouldn't".split()
)


def has_clause(clause: tuple[str, ...]) -> bool:
    """A clause says something: it has an auxiliary or a copula, a subject pronoun before another
    word, an imperative opening it, or a noun followed by a verb in -s or -ed ("your reaction
    makes sense"). Lists of phrases ("first step, plan, next time, try") have none of these."""
    if len(clause) < 2:
        return False
    if clause[0] in IMPERATIVES or any(w in AUXILIARIES for w in clause):
        return True
    if any(w in SUBJECTS or w.endswith("'s") for w in clause[:-1]):
        return True
    return any(
        b.endswith(("s", "ed")) and len(b) > 3 and a not in FUNCTION_LIKE and not a.endswith("ly")
        for a, b in itertools.pairwise(clause)
    )


FUNCTION_LIKE = frozenset(
    "a an the my your his her its our their this that these those both each every some any no very so too".split()
)


def clauses(text: str) -> tuple[tuple[str, ...], ...]:
    """The words of each clause, split at sentence ends, commas, colons and dashes."""
    parts = re.split(r"[.!?;,:]+|\s[-–—]+\s", text.lower())
    return tuple(words for part in parts if (words := tuple(t for t in _TOKEN.findall(part) if t not in ".,!?;:")))


def odd_casing(text: str) -> bool:
    """Shouting or alternating case: a word with a capital after a lower-case letter ("yOu"), or
    most of a longer reply's letters in capitals."""
    letters = [c for c in text if c.isalpha()]
    capitals = sum(c.isupper() for c in letters)
    return bool(re.search(r"[a-z][A-Z]", text)) or (len(letters) >= 12 and capitals > 0.6 * len(letters))
