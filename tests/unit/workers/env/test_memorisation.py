"""Nothing but the need ties an opening to its user: a lookup table fitted on train openings
(cue sentences removed) passes fresh groups at chance, on train and test (bench/memorisation.py)."""

from bench.memorisation import fit_table, without_cues
from orchestrator.evaluation import PASS_THRESHOLD, final_emotions
from workers.env.english_scenarios import english_split
from workers.env.phrases import phrase_bank


def test_a_lookup_table_of_openings_passes_at_chance():
    train, test = english_split("train"), english_split("test")
    table, fallback = fit_table(train, range(3))
    bank = phrase_bank()

    def lookup(key, users, turn):
        need = table.get(without_cues(users[0]), fallback)
        return bank.strategies[need].replies[0]

    for scenarios in (train, test):
        passed = (final_emotions(lookup, [0.5, 0.95], scenarios, seeds=(1000, 1001)) >= PASS_THRESHOLD).mean(axis=1)
        assert max(passed) <= 1 / 8 + 0.05, passed
