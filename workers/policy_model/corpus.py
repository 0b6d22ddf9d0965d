"""The English counselling-dialogue corpus the policy is warm-started on.

Each sample is a short dialogue from the training scenarios, in train cue phrasings only (the test
split's phrasings stay unseen): the user's opening (cues revealed at a random level), an agent
reply, and sometimes a user reaction and a second reply. Replies are drawn uniformly from the
eight strategies and plain comfort, *independently of the user's intent*: the warm start teaches
how each strategy sounds, and leaves to RL which one fits whom.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from workers.env.english_scenarios import english_split
from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.scenario import realise


@dataclass(frozen=True)
class CorpusDialogue:
    system: str
    turns: tuple[tuple[str, str], ...]
    """(user message, agent reply) pairs."""


def _any_reply(rng: random.Random) -> str:
    bank = phrase_bank()
    choice = rng.randrange(len(STRATEGY_NAMES) + 1)
    if choice == len(STRATEGY_NAMES):
        return rng.choice(bank.generic_replies)
    return rng.choice(bank.strategies[STRATEGY_NAMES[choice]].replies)


def counselling_corpus(n: int, seed: int) -> list[CorpusDialogue]:
    bank = phrase_bank()
    rng = random.Random(seed)
    scenarios = english_split("train")
    reaction_kinds = ("better", "neutral", "worse", "sarcastic")
    dialogues = []
    for _ in range(n):
        sc = realise(rng.choice(scenarios), rng.randrange(2**31))
        cues = bank.strategies[sc.intent]
        opening = [sc.situation, rng.choice(bank.feelings[sc.personality])]
        reveal = rng.randrange(3)
        if reveal >= 1:
            opening.append(rng.choice(cues.vague["train"]))
        if reveal == 2:
            opening.append(rng.choice(cues.explicit["train"]))
        turns = [(" ".join(opening), _any_reply(rng))]
        if rng.random() < 0.5:
            kind = rng.choice(reaction_kinds)
            reaction = rng.choice(bank.reactions[kind])
            if kind == "worse" and rng.random() < 0.5:
                reaction = rng.choice(bank.reactions["worse_hint"]).format(hint=rng.choice(cues.explicit["train"]))
            turns.append((reaction, _any_reply(rng)))
        dialogues.append(CorpusDialogue(system=bank.system_prompt, turns=tuple(turns)))
    return dialogues


def corpus_texts(dialogues: list[CorpusDialogue]) -> list[str]:
    """Plain text lines for tokenizer training."""
    texts = []
    for d in dialogues:
        texts.append(d.system)
        for user, agent in d.turns:
            texts.extend((user, agent))
    return texts
