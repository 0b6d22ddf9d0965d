"""Is a reply English a reader can follow? Vocabulary and word order, not meaning.

Two measures, both cheap and deterministic:

* `english_share` / `foreign_run`: the share of words that an English dictionary knows
  (pyspellchecker's frequency list, words seen at least `MIN_COUNT` times), over the reply and
  in every five-word window. Other languages written in the Latin alphabet, digit strings and
  letter noise fall below it, also as a tail behind an English sentence.
* `order_score`: word salad made of real words ("a is is better first step is to place") breaks
  the order of English's closed-class words. Each word is mapped to itself when it is a function
  word (pronoun, determiner, auxiliary, preposition, conjunction) and to a coarse class otherwise
  (-ly, -ing, -ed, -s, other); the score is the share of the reply's class bigrams, sentence ends
  included, that occur in a reference text: every reply, cue, reaction and situation of the
  phrase bank and the development reply corpora. Content words do not matter, so a natural
  reply about a topic the bank never mentions keeps its score.
"""

from __future__ import annotations

import itertools
from functools import cache
from importlib import resources

import yaml

from workers.env.phrases import phrase_bank
from workers.env.reply_text import text_facts

MIN_COUNT = 50
"""Dictionary words rarer than this (in pyspellchecker's counts) are treated as unknown."""

FUNCTION_WORDS = frozenset(
    """
    a an the this that these those my your his her its our their me him us them i you he she it we they
    myself yourself himself herself itself ourselves themselves mine yours hers ours theirs
    am is are was were be been being have has had having do does did doing done
    can could will would shall should may might must ought
    i'm you're he's she's it's we're they're i've you've we've they've i'd you'd he'd she'd we'd they'd
    i'll you'll he'll she'll we'll they'll isn't aren't wasn't weren't don't doesn't didn't haven't hasn't
    hadn't can't couldn't won't wouldn't shouldn't mustn't that's there's here's what's who's let's
    not no never nor and or but so yet if then than because as while when where why how what who whom
    which whose whether though although unless until since
    to of in on at by for with about against between into through during before after above below from
    up down out off over under again further once here there all any both each few more most other
    some such only own same too very just also even still really quite rather maybe perhaps
    one ones something anything nothing everything someone anyone everyone nobody somebody anybody
    """.split()
)
SENTENCE_EDGE = "|"


def _word_class(word: str) -> str:
    if word in FUNCTION_WORDS:
        return word
    if word.isdigit():
        return "<num>"
    for suffix, name in (("ly", "<ly>"), ("ing", "<ing>"), ("ed", "<ed>"), ("s", "<s>")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return name
    return "<w>"


def class_bigrams(sentences: tuple[tuple[str, ...], ...]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for sentence in sentences:
        classes = [SENTENCE_EDGE, *(_word_class(w) for w in sentence), SENTENCE_EDGE]
        pairs += list(itertools.pairwise(classes))
    return pairs


@cache
def development_replies() -> dict[str, tuple[str, ...]]:
    """The development reply corpora (`data/natural_replies_dev*.yaml`), label -> replies. Never
    the held-out corpus under tests/data, which no part of the scorer reads."""
    merged: dict[str, list[str]] = {}
    for entry in sorted(resources.files("workers.env").joinpath("data").iterdir(), key=lambda e: e.name):
        if entry.name.startswith("natural_replies_dev") and entry.name.endswith(".yaml"):
            for label, replies in yaml.safe_load(entry.read_text(encoding="utf-8")).items():
                merged.setdefault(label, []).extend(replies)
    return {label: tuple(replies) for label, replies in merged.items()}


def reference_texts() -> list[str]:
    bank = phrase_bank()
    texts = [r for s in bank.strategies.values() for r in (*s.replies, *s.all_cues)]
    texts += [*bank.generic_replies, *itertools.chain(*bank.feelings.values()), *itertools.chain(*bank.reactions.values())]
    texts += [t.format(other="my friend") for _, t in bank.situations]
    texts += [r for replies in development_replies().values() for r in replies]
    return texts


@cache
def _reference_bigrams() -> frozenset[tuple[str, str]]:
    return frozenset(p for text in reference_texts() for p in class_bigrams(text_facts(text).sentences))


@cache
def _dictionary() -> dict[str, int]:
    from spellchecker import SpellChecker

    return dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)


def english_share(words: tuple[str, ...]) -> float:
    """Share of the words an English dictionary knows (1.0 for no words)."""
    if not words:
        return 1.0
    return sum(map(_is_english, words)) / len(words)


def _is_english(word: str) -> bool:
    known = _dictionary()
    return word in FUNCTION_WORDS or max(known.get(word, 0), known.get(word.removesuffix("'s"), 0)) >= MIN_COUNT


def foreign_run(words: tuple[str, ...], window: int = 5, unknown: int = 2) -> bool:
    """Some `window` consecutive words hold `unknown` or more words the dictionary does not know:
    a passage in another language (or noise) hidden in an otherwise English reply."""
    flags = [not _is_english(w) for w in words]
    return any(sum(flags[i : i + window]) >= unknown for i in range(max(1, len(flags) - window + 1)))


def order_score(sentences: tuple[tuple[str, ...], ...]) -> float:
    """Share of the reply's class bigrams seen in the reference text (1.0 for no words)."""
    pairs = class_bigrams(sentences)
    if not pairs:
        return 1.0
    seen = _reference_bigrams()
    return sum(p in seen for p in pairs) / len(pairs)
