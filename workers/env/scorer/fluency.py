"""Is a reply English a reader can follow? Vocabulary and word order, not meaning.

Two measures, both cheap and deterministic:

* `english_share` / `foreign_run`: the share of words that an English dictionary knows
  (pyspellchecker's frequency list, words seen at least `MIN_COUNT` times), over the reply and
  in every five-word window. Other languages written in the Latin alphabet, digit strings and
  letter noise fall below it, also as a tail behind an English sentence.
* `order_score`: word salad made of real words ("a is is better first step is to place") breaks
  the order of English's closed-class words. Each word is mapped to itself when it is a function
  word (pronoun, determiner, auxiliary, preposition, conjunction) and to a coarse class otherwise
  (-ly, -ing, -ed, -s, number, other); a smoothed class-bigram model of a reference text (every
  reply, cue, reaction and situation of the phrase bank and the development reply corpora)
  scores the reply against shuffles of its own words. Content words do not matter, so a natural
  reply about a topic the bank never mentions keeps its score; a shuffled one loses it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import yaml

from workers.env.phrases import phrase_bank
from workers.env.scorer.reply_text import text_facts

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


@cache
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
    texts += [
        *bank.generic_replies,
        *bank.ask_replies,
        *itertools.chain(*bank.feelings.values()),
        *itertools.chain(*bank.reactions.values()),
    ]
    texts += [t.format(other="my friend") for _, t in bank.situations]
    texts += [r for replies in development_replies().values() for r in replies]
    return texts


SHUFFLES = 32
SMOOTHING = 2.0


@dataclass(frozen=True)
class _ClassBigrams:
    pairs: Counter
    firsts: Counter
    unigram: dict[str, float]


@cache
def _reference_sentences() -> tuple[tuple[tuple[str, ...], ...], ...]:
    """The reference texts' words, by sentence (read once for the dictionary and the model)."""
    return tuple(text_facts(text).sentences for text in reference_texts())


@cache
def _reference_model() -> _ClassBigrams:
    pairs = Counter(p for sentences in _reference_sentences() for p in class_bigrams(sentences))
    firsts: Counter = Counter()
    seconds: Counter = Counter()
    for (a, b), n in pairs.items():
        firsts[a] += n
        seconds[b] += n
    total = sum(seconds.values()) + len(seconds) + 1
    return _ClassBigrams(pairs, firsts, {c: (n + 1) / total for c, n in seconds.items()} | {"": 1 / total})


@cache
def _log_table() -> dict[tuple[str, str], float]:
    model = _reference_model()
    return {pair: _smoothed(pair) for pair in model.pairs}


def _smoothed(pair: tuple[str, str]) -> float:
    model = _reference_model()
    prior = model.unigram.get(pair[1], model.unigram[""])
    return math.log((model.pairs.get(pair, 0) + SMOOTHING * prior) / (model.firsts.get(pair[0], 0) + SMOOTHING))


def _log_probability(classes: list[str], lengths: list[int]) -> float:
    """Log-probability of a reply's word classes, cut into sentences of `lengths`."""
    table, total, cut = _log_table(), 0.0, 0
    for n in lengths:
        sequence = [SENTENCE_EDGE, *classes[cut : cut + n], SENTENCE_EDGE]
        cut += n
        for pair in itertools.pairwise(sequence):
            logp = table.get(pair)
            total += logp if logp is not None else _smoothed(pair)
    return total


@cache
def _dictionary() -> dict[str, int]:
    from spellchecker import SpellChecker

    return dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)


MAX_NUMBERS = 2
"""Numbers of up to four digits read as English ("give it 2 or 3 days"); a reply with more number
tokens than this is a digit payload."""


def english_share(words: tuple[str, ...]) -> float:
    """Share of the words an English dictionary knows (1.0 for no words)."""
    if not words:
        return 1.0
    if sum(w.isdigit() for w in words) > MAX_NUMBERS:
        return 0.0
    return sum(map(_is_english, words)) / len(words)


_BRITISH = ((r"our(s?)$", r"or\1"), (r"is(e|es|ed|ing|ation|ations)$", r"iz\1"), (r"ys(e|ed|ing)$", r"yz\1"), (r"tre$", "ter"))


def _american(word: str) -> str:
    for pattern, replacement in _BRITISH:
        word = re.sub(pattern, replacement, word)
    return word


@cache
def _own_words() -> frozenset[str]:
    """Every word of our own texts (the phrase bank with its names, the development corpora)."""
    bank = phrase_bank()
    names = [w for text in (*bank.names, *bank.others) for w in text_facts(text).words]
    return frozenset([*names, *(w for sentences in _reference_sentences() for s in sentences for w in s)])


@cache
def _is_english(word: str) -> bool:
    if word.isdigit():
        return len(word) <= 4
    if word in FUNCTION_WORDS or word in _own_words():
        return True
    known = _dictionary()
    return any(known.get(w, 0) >= MIN_COUNT for w in (word, word.removesuffix("'s"), _american(word)))


def foreign_run(words: tuple[str, ...], window: int = 5, unknown: int = 2) -> bool:
    """Some `window` consecutive words hold `unknown` or more words the dictionary does not know:
    a passage in another language (or noise) hidden in an otherwise English reply."""
    flags = [not _is_english(w) for w in words]
    return any(sum(flags[i : i + window]) >= unknown for i in range(max(1, len(flags) - window + 1)))


@lru_cache(maxsize=65536)
def order_score(sentences: tuple[tuple[str, ...], ...]) -> float:
    """How much more English-like the reply's word order is than random orders of its own words:
    the share of `SHUFFLES` shuffles (sentence lengths kept, drawn from the text itself, so the
    same reply always gets the same score) that a class-bigram model of the reference text likes
    less than the reply (ties count half). Natural text sits near 1, word salad near 0.5. Replies
    of under four words score 1."""
    words = [w for sentence in sentences for w in sentence]
    if len(words) < 4:
        return 1.0
    classes, lengths = [_word_class(w) for w in words], [len(s) for s in sentences]
    original = _log_probability(classes, lengths)
    rng = random.Random(hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest())
    beaten = 0.0
    for _ in range(SHUFFLES):
        other = _log_probability(rng.sample(classes, len(classes)), lengths)
        beaten += 1.0 if other < original else 0.5 if other == original else 0.0
    return beaten / SHUFFLES
