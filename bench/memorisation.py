"""Can a policy pass by recognising the user instead of reading the need? A lookup attack.

    python bench/memorisation.py [--fit-seeds 5] [--eval-seeds 3] [--intents listen,advise]
    python bench/memorisation.py --levels-from RUN_DIR [--fit-seeds 5] [--eval-seeds 3]

The lookup policy is an exact-match table from the user's opening, with every cue sentence
removed, to the need most often behind it, fitted on the train split's dialogues (seeds 0..N-1,
all difficulties of the grid); it answers every turn with a reply of that strategy, or of the
most common need for an opening it never saw. It is then played on fresh groups (other seeds, as
training meets them) of the train and the test split. If only the need ties an opening to its
user, it passes at chance: the share of users with any one need. Last line: one JSON object
{"chance": c, "test": {D: p}, "train": {D: p}}.

`--levels-from` asks the same of a `per_scenario` run keyed by need (`curriculum.bucket_by:
need_personality`): it gives each (need x personality) bucket its own difficulty, and difficulty
decides whether the opening
carries a cue, so a need trained at a higher level than the other opens without a cue more often,
and "no cue" alone would name it. The attacker here sees what difficulty can change in an opening
(the personality, shown by the feeling sentence, and whether any cue is there); it learns from
train-split openings at the levels the run chose for each group (its second half, settled) which
need a cue-less opening of each personality most often has, and guesses that on test-split
openings drawn the same way. Control: every group at its step's mean level (what `band` does).
Without a leak both guess at chance. Last line: {"chance", "per_scenario": {"accuracy", "se",
"n"}, "shared_level": {...}, "levels": {BUCKET: mean d}, "bucket_by"}.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from orchestrator.evaluation.held_out import PASS_THRESHOLD, final_emotions
from workers.env.phrases import STRATEGY_NAMES, phrase_bank
from workers.env.scenarios.english_scenarios import english_split
from workers.env.scenarios.scenario import Scenario, scenario_bucket
from workers.env.users.rule_simulator import RuleSimulator

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


def run_levels(run_dir: Path, settled_after: float = 0.5) -> list[list[tuple[str, float]]]:
    """Per step on record (its later part), each group's (bucket, difficulty) in a per_scenario
    run's own study."""
    import optuna

    from orchestrator.curriculum.study_records import GROUP_BUCKETS_ATTR, GROUP_POINTS_ATTR, trials_on_record

    db = run_dir / "curriculum.db"
    if not db.exists():
        raise SystemExit(f"--levels-from {run_dir}: no curriculum.db (a run's directory under its workdir)")
    study = optuna.load_study(study_name=run_dir.name, storage=f"sqlite:///{db}")
    trials = [t for t in trials_on_record(study) if GROUP_BUCKETS_ATTR in t.user_attrs]
    if not trials:
        raise SystemExit(f"{db}: no trial holds per-group buckets; is {run_dir.name} a per_scenario run?")
    return [
        [
            (bucket, float(point[0]))
            for point, bucket in zip(t.user_attrs[GROUP_POINTS_ATTR], t.user_attrs[GROUP_BUCKETS_ATTR], strict=True)
        ]
        for t in trials[int(len(trials) * settled_after) :]
    ]


def shared_levels(steps: list[list[tuple[str, float]]]) -> list[list[tuple[str, float]]]:
    """The same groups, each at its step's mean level."""
    return [[(bucket, float(np.mean([d for _, d in step]))) for bucket, _ in step] for step in steps]


def openings(steps, scenarios: list[Scenario], seeds, by: str) -> list[tuple[Scenario, str]]:
    """A user of each group's bucket (keyed `by`, as the run's `curriculum.bucket_by`; drawn per
    seed) and its opening at the group's level."""
    by_bucket: dict[str, list[Scenario]] = defaultdict(list)
    for scenario in scenarios:
        by_bucket[scenario_bucket(scenario, by)].append(scenario)
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for g, (bucket, d) in enumerate(group for step in steps for group in step):
            scenario = by_bucket[bucket][rng.integers(len(by_bucket[bucket]))]
            simulator = RuleSimulator(max_turns=1, pass_threshold=PASS_THRESHOLD, seed=seed * 100_003 + g)
            out.append((scenario, simulator.start(scenario, d)))
    return out


def difficulty_signs(scenario: Scenario, opening: str) -> tuple[str, bool]:
    """What a level can change in an opening: whether a cue is in it (the personality shows anyway)."""
    return scenario.personality, without_cues(opening) != opening


def cueless_guess_accuracy(train: list[tuple[Scenario, str]], test: list[tuple[Scenario, str]]) -> dict:
    """Fit need-by-(personality, cue shown) on `train`; accuracy of its guesses on test's cue-less openings."""
    votes: dict[tuple[str, bool], Counter] = defaultdict(Counter)
    for scenario, opening in train:
        votes[difficulty_signs(scenario, opening)][scenario.intent] += 1
    hits = [
        votes[signs].most_common(1)[0][0] == scenario.intent if votes[signs] else False
        for scenario, opening in test
        if not (signs := difficulty_signs(scenario, opening))[1]
    ]
    if not hits:
        raise SystemExit("every test opening carried a cue: the run's levels never hide the need")
    accuracy = float(np.mean(hits))
    return {"accuracy": round(accuracy, 4), "se": round(float(np.sqrt(accuracy * (1 - accuracy) / len(hits))), 4), "n": len(hits)}


def leak_check(run_dir: Path, fit_seeds: int, eval_seeds: int) -> dict:
    steps = run_levels(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    by, intents = config["curriculum"]["bucket_by"], config["simulator"]["intents"] or list(STRATEGY_NAMES)
    train = [s for s in english_split("train") if s.intent in intents]
    test = [s for s in english_split("test") if s.intent in intents]
    levels: dict[str, list[float]] = defaultdict(list)
    for bucket, d in (group for step in steps for group in step):
        levels[bucket].append(d)
    result: dict = {"chance": round(1 / len(intents), 4)}
    for name, chosen in (("per_scenario", steps), ("shared_level", shared_levels(steps))):
        fitted = openings(chosen, train, range(fit_seeds), by)
        played = openings(chosen, test, range(1000, 1000 + eval_seeds), by)
        result[name] = cueless_guess_accuracy(fitted, played)
        print(f"{name:12s} need guessed from a cue-less opening: {result[name]}", flush=True)
    result["levels"] = {bucket: round(float(np.mean(d)), 3) for bucket, d in sorted(levels.items())}
    result["bucket_by"] = by
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit-seeds", type=int, default=5)
    parser.add_argument("--eval-seeds", type=int, default=3)
    parser.add_argument("--intents", default=",".join(STRATEGY_NAMES), help="Needs of the users (default: all eight).")
    parser.add_argument("--levels-from", type=Path, default=None, help="a per_scenario run's directory: the leak check")
    args = parser.parse_args()
    if args.levels_from is not None:
        print(json.dumps(leak_check(args.levels_from, args.fit_seeds, args.eval_seeds)))
        return
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
