"""A learned reader of strategy: which of the eight strategies (or plain comfort, or nothing) a
reply pursues, or whether it asks what would help, from its word and character n-grams.

Lexicon rules see only the phrases someone thought of; people say "you were right to be upset"
in a hundred ways. A linear model over word 1-2-grams and character 3-5-grams (scikit-learn
TF-IDF + multinomial logistic regression) generalises from examples to paraphrases. It is trained
on the phrase bank's replies and the development reply corpora (`data/natural_replies_dev*.yaml`)
for the strategies, `generic` and `ask` (an open, caring question about what would help), and on
the users' reactions, feelings and situations plus off-topic replies and cold interrogations
("what do you want, spit it out") for `none`. (Echoing what the user said is the scorer's gate,
not this model's job: cue sentences share words with the replies that serve them.) Training is
deterministic (fixed data order, lbfgs) and takes about a second, once per process;
`SCORER_VERSION` names the data and settings together, and changes whenever either does. The
held-out corpora under tests/data are never read here.

Scoring one reply walks sklearn's own n-gram analyzers and a dict of the fitted weights instead
of building a one-row sparse matrix per call; a test checks it gives the fitted pipeline's
probabilities.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache

from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.scorer.fluency import development_replies

SCORER_VERSION = "3.0"
GENERIC = "generic"
ASK = "ask"
NONE = "none"
CLASSES: tuple[str, ...] = (*STRATEGY_NAMES, GENERIC, ASK, NONE)


def training_set() -> tuple[list[str], list[str]]:
    """(texts, labels), in a fixed order."""
    bank = phrase_bank()
    texts: list[str] = []
    labels: list[str] = []

    def add(label: str, items) -> None:
        for text in items:
            texts.append(text)
            labels.append(label)

    dev = development_replies()
    for name, strategy in bank.strategies.items():
        add(name, strategy.replies)
        add(name, dev.get(name, ()))
    add(GENERIC, bank.generic_replies)
    add(GENERIC, dev.get(GENERIC, ()))
    add(ASK, bank.ask_replies)
    add(ASK, dev.get(ASK, ()))
    add(NONE, dev.get("offtopic", ()))
    add(NONE, dev.get("cold", ()))
    add(NONE, [r for reactions in bank.reactions.values() for r in reactions])
    add(NONE, [r for feelings in bank.feelings.values() for r in feelings])
    add(NONE, [t.format(other=other) for _, t in bank.situations for other in bank.others[:2]])
    return texts, labels


@dataclass(frozen=True)
class _LinearModel:
    analyzers: tuple
    vocabularies: tuple[dict[str, int], ...]
    idf: tuple[tuple[float, ...], ...]
    weights: tuple[tuple[tuple[float, ...], ...], ...]
    """Per feature block, per feature index: the class weights."""
    bias: tuple[float, ...]


def _vectorizers():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return (
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[a-z]+(?:'[a-z]+)?"),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
    )


@cache
def _model() -> _LinearModel:
    import numpy as np
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    texts, labels = training_set()
    texts = [t.lower() for t in texts]
    vectorizers = _vectorizers()
    features = sp.hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
    classifier = LogisticRegression(C=20.0, max_iter=5000)
    classifier.fit(features, [CLASSES.index(label) for label in labels])
    order = [list(classifier.classes_).index(i) for i in range(len(CLASSES))]
    coef = np.asarray(classifier.coef_)[order]
    weights, offset = [], 0
    for v in vectorizers:
        n = len(v.vocabulary_)
        weights.append(tuple(tuple(float(x) for x in coef[:, offset + j]) for j in range(n)))
        offset += n
    return _LinearModel(
        analyzers=tuple(v.build_analyzer() for v in vectorizers),
        vocabularies=tuple(dict(v.vocabulary_) for v in vectorizers),
        idf=tuple(tuple(float(x) for x in v.idf_) for v in vectorizers),
        weights=tuple(weights),
        bias=tuple(float(x) for x in np.asarray(classifier.intercept_)[order]),
    )


def strategy_probabilities(text: str) -> dict[str, float]:
    """Class -> probability for one reply (the classes of CLASSES)."""
    return dict(zip(CLASSES, _probabilities(text.lower()), strict=True))


@lru_cache(maxsize=65536)
def _probabilities(lowered: str) -> tuple[float, ...]:
    """Cached by text: a scripted policy or a converged one says the same reply to many users,
    whose conversations (and so the scorer's own cache key) differ."""
    model = _model()
    scores = list(model.bias)
    for analyzer, vocabulary, idf, weights in zip(model.analyzers, model.vocabularies, model.idf, model.weights, strict=True):
        counts = Counter(i for gram in analyzer(lowered) if (i := vocabulary.get(gram)) is not None)
        values = {i: (1.0 + math.log(c)) * idf[i] for i, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in values.values())) or 1.0
        for i, x in values.items():
            for k, w in enumerate(weights[i]):
                scores[k] += w * x / norm
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return tuple(e / total for e in exps)
