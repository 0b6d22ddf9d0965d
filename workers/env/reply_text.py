"""What a reader sees in a reply: its characters, words and sentences, before any meaning.

Every character counts. A policy trained against a scorer will try whatever the scorer cannot
see: invisible or control characters, other scripts, emoji, digits, runs of one character. These
functions surface all of them, so the gates in `strategy_scorer.py` can refuse a reply for them
instead of reading around them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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


def text_facts(reply: str) -> TextFacts:
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
    """The same sentence (of three words or more) twice."""
    long = [s for s in sentences if len(s) >= 3]
    return len(set(long)) < len(long)


def echoed_positions(words: tuple[str, ...], heard: tuple[str, ...], n: int = 4) -> set[int]:
    """Positions of the reply's words that lie inside a run of `n` or more words the user said."""
    said = {tuple(heard[i : i + n]) for i in range(len(heard) - n + 1)}
    covered: set[int] = set()
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) in said:
            covered.update(range(i, i + n))
    return covered
