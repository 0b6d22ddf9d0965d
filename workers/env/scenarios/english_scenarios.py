"""Our English scenario bank: every situation x hidden need x personality.

Only the need is tied to a scenario's identity. The counterpart and the persona's name are drawn
per group (`scenario.realise`), and so are the phrasings the simulator picks, so a policy that
memorised train openings learns nothing about the need beyond the cue sentences themselves
(bench/memorisation.py measures it). The test split holds out whole situations and the cue
phrasings of its own.
"""

from __future__ import annotations

import itertools
from functools import cache

from workers.env.phrases import PERSONALITIES, STRATEGY_NAMES, phrase_bank
from workers.env.scenarios.scenario import Scenario


@cache
def english_bank() -> tuple[Scenario, ...]:
    bank = phrase_bank()
    return tuple(
        Scenario(
            id=f"en-{topic}-{intent}-{personality}",
            persona=f"{{name}}, {personality} personality",
            situation=text,
            personality=personality,
            intent=intent,
            topic=topic,
            split="test" if topic in bank.test_topics else "train",
            others=bank.others,
            names=bank.names,
        )
        for (topic, text), intent, personality in itertools.product(bank.situations, STRATEGY_NAMES, PERSONALITIES)
    )


def english_split(split: str) -> tuple[Scenario, ...]:
    """`train`, `test` (held-out situations and cue phrasings, never seen in training) or `all`."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"scenario split must be train, test or all, not {split!r}")
    return tuple(s for s in english_bank() if split in ("all", s.split))
