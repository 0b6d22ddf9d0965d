"""Nothing but the need ties an opening to its user: a lookup table fitted on train openings
(cue sentences removed) passes fresh groups at chance, on train and test (bench/memorisation.py)."""

from bench.memorisation import fit_table, lookup_policy
from orchestrator.evaluation import PASS_THRESHOLD, final_emotions
from workers.env.english_scenarios import english_split


def test_a_lookup_table_of_openings_passes_at_chance():
    train, test = english_split("train"), english_split("test")
    lookup = lookup_policy(*fit_table(train, range(3)))
    for scenarios in (train, test):
        passed = (final_emotions(lookup, [0.5, 0.95], scenarios, seeds=(1000, 1001)) >= PASS_THRESHOLD).mean(axis=1)
        assert max(passed) <= 1 / 8 + 0.05, passed
