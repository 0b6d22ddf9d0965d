"""The English counselling-dialogue corpus the policy is warm-started on.

Each sample is a short dialogue from the training scenarios, in train cue phrasings only (the test
split's phrasings stay unseen): the user's opening (cues revealed at a random level), an agent
reply, and sometimes a user reaction and a second reply. Replies are drawn uniformly from the
eight strategies, plain comfort and a caring question about what would help, *independently of
the user's intent and of what the user has revealed*: the warm start teaches how each strategy
and the question sound, and leaves to RL which one fits whom, and when to ask. The user's side
follows the `rule` user's habits: a question is answered with the need (or deflected), so the
policy has read disclosures before RL asks it to act on them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.scenarios.english_scenarios import english_split
from workers.env.scenarios.scenario import realise


@dataclass(frozen=True)
class CorpusDialogue:
    system: str
    turns: tuple[tuple[str, str], ...]
    """(user message, agent reply) pairs."""


def _any_reply(rng: random.Random) -> tuple[str, str]:
    """(kind, reply): a strategy's name, `generic` or `ask`, each as likely."""
    bank = phrase_bank()
    kind = rng.choice((*STRATEGY_NAMES, "generic", "ask"))
    if kind == "generic":
        return kind, rng.choice(bank.generic_replies)
    if kind == "ask":
        return kind, rng.choice(bank.ask_replies)
    return kind, rng.choice(bank.strategies[kind].replies)


def counselling_corpus(n: int, seed: int) -> list[CorpusDialogue]:
    bank = phrase_bank()
    rng = random.Random(seed)
    scenarios = english_split("train")
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
        asked, reply = _any_reply(rng)
        turns = [(" ".join(opening), reply)]
        if rng.random() < 0.5:
            turns.append((_reaction(rng, asked == "ask", reveal > 0, cues), _any_reply(rng)[1]))
        dialogues.append(CorpusDialogue(system=bank.system_prompt, turns=tuple(turns)))
    return dialogues


def _reaction(rng: random.Random, asked: bool, revealed: bool, cues) -> str:
    """The user's answer to the first reply: to a question, the need (stated or hinted) or a
    deflection when nothing was revealed yet, else "I already told you"; to anything else, a
    reaction of any kind, a misfit's sometimes restating the need."""
    bank = phrase_bank()
    if asked and revealed:
        return rng.choice(bank.reactions["asked_again"])
    if asked:
        if rng.random() < 0.25:
            return rng.choice(bank.reactions["deflect"])
        cue = rng.choice(rng.choice((cues.explicit, cues.vague))["train"])
        return rng.choice(bank.reactions["disclose"]).format(cue=cue)
    kind = rng.choice(("better", "neutral", "worse", "sarcastic"))
    if kind == "worse" and rng.random() < 0.5:
        return rng.choice(bank.reactions["worse_hint"]).format(hint=rng.choice(cues.explicit["train"]))
    return rng.choice(bank.reactions[kind])


def corpus_texts(dialogues: list[CorpusDialogue]) -> list[str]:
    """Plain text lines for tokenizer training."""
    texts = []
    for d in dialogues:
        texts.append(d.system)
        for user, agent in d.turns:
            texts.extend((user, agent))
    return texts
