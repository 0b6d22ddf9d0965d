"""Can a policy pass by recognising the user instead of reading the need? A lookup attack.

    python bench/memorisation.py [--fit-seeds 5] [--eval-seeds 3] [--intents listen,advise]

The lookup policy is an exact-match table from the user's opening, with every cue sentence
removed, to the need most often behind it, fitted on the train split's dialogues (seeds 0..N-1,
all difficulties of the grid); it answers every turn with a reply of that strategy, or of the
most common need for an opening it never saw. It is then played on fresh groups (other seeds, as
training meets them) of the train and the test split. If only the need ties an opening to its
user, it passes at chance: the share of users with any one need. Last line: one JSON object
{"chance": c, "test": {D: p}, "train": {D: p}}.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict

import numpy as np

from orchestrator.evaluation import PASS_THRESHOLD, final_emotions
from workers.env.english_scenarios import english_split
from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.rule_simulator import RuleSimulator

LEVELS = np.round(np.arange(0, 1 + 1e-9, 0.1), 2)


def without_cues(opening: str) -> str:
    for strategy in phrase_bank().strategies.values():
        for cue in strategy.all_cues:
            opening = opening.replace(cue, "")
    return " ".join(opening.split())


def fit_table(scenarios, seeds) -> tuple[dict[str, str], str]:
    votes: dict[str, Counter] = defaultdict(Counter)
    for seed in seeds:
        for scenario in scenarios:
            for d in LEVELS:
                opening = RuleSimulator(max_turns=1, pass_threshold=PASS_THRESHOLD, seed=seed).start(scenario, float(d))
                votes[without_cues(opening)][scenario.intent] += 1
    overall = Counter(s.intent for s in scenarios).most_common(1)[0][0]
    return {key: counts.most_common(1)[0][0] for key, counts in votes.items()}, overall


def lookup_policy(table: dict[str, str], fallback: str):
    """Answers every turn with a reply of the need its table gives the user's cue-less opening."""
    bank = phrase_bank()

    def lookup(key: str, user_messages: list[str], turn: int) -> str:
        need = table.get(without_cues(user_messages[0]), fallback)
        return bank.strategies[need].replies[turn % len(bank.strategies[need].replies)]

    return lookup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit-seeds", type=int, default=5)
    parser.add_argument("--eval-seeds", type=int, default=3)
    parser.add_argument("--intents", default=",".join(STRATEGY_NAMES), help="Needs of the users (default: all eight).")
    args = parser.parse_args()
    intents = args.intents.split(",")
    train = [s for s in english_split("train") if s.intent in intents]
    test = [s for s in english_split("test") if s.intent in intents]
    table, fallback = fit_table(train, range(args.fit_seeds))
    lookup = lookup_policy(table, fallback)
    print(f"lookup table: {len(table)} distinct openings (cues removed) from {len(train)} train scenarios")

    seeds = range(1000, 1000 + args.eval_seeds)
    result = {"chance": round(1 / len(intents), 4)}
    for split, scenarios in (("test", test), ("train", train)):
        passed = (final_emotions(lookup, LEVELS, scenarios, seeds) >= PASS_THRESHOLD).mean(axis=1)
        result[split] = {f"{d:.2f}": round(float(p), 4) for d, p in zip(LEVELS, passed, strict=True)}
        print(f"{split:5s} pass rate by d: " + " ".join(f"{d:.1f}:{p:.2f}" for d, p in zip(LEVELS, passed, strict=True)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
