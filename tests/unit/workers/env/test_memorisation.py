"""Nothing but the need ties an opening to its user: a lookup table fitted on train openings
(cue sentences removed) passes fresh groups at chance, on train and test (bench/memorisation.py)."""

from bench.memorisation import cueless_guess_accuracy, fit_table, lookup_policy, openings, shared_levels
from orchestrator.evaluation.held_out import PASS_THRESHOLD, final_emotions
from workers.env.scenarios.english_scenarios import english_split


def test_a_lookup_table_of_openings_passes_at_chance():
    train, test = english_split("train"), english_split("test")
    lookup = lookup_policy(*fit_table(train, range(3)))
    for scenarios in (train, test):
        passed = (final_emotions(lookup, [0.5, 0.95], scenarios, seeds=(1000, 1001)) >= PASS_THRESHOLD).mean(axis=1)
        assert max(passed) <= 1 / 8 + 0.05, passed


NEED = "need_personality"


def _steps(levels: dict[str, float], steps: int = 4) -> list[list[tuple[str, float]]]:
    return [[(bucket, d) for bucket, d in levels.items() for _ in range(6)] for _ in range(steps)]


def test_the_leak_check_reads_a_need_off_need_dependent_levels_and_not_off_shared_ones():
    """Its power and its null: listen trained at 0.8 and advise at 0.2 opens cue-less mostly for
    listen, so the attacker beats chance; both needs at one level leave it at chance."""
    train = [s for s in english_split("train") if s.intent in ("listen", "advise")]
    test = [s for s in english_split("test") if s.intent in ("listen", "advise")]
    personalities = sorted({s.personality for s in train})
    apart = _steps({f"{need}/{p}": 0.8 if need == "listen" else 0.2 for need in ("listen", "advise") for p in personalities})
    leaked = cueless_guess_accuracy(openings(apart, train, range(3), NEED), openings(apart, test, range(1000, 1003), NEED))
    assert leaked["accuracy"] > 0.5 + 3 * leaked["se"], leaked
    shared = shared_levels(apart)
    null = cueless_guess_accuracy(openings(shared, train, range(3), NEED), openings(shared, test, range(1000, 1003), NEED))
    assert abs(null["accuracy"] - 0.5) < 3 * null["se"] + 0.02, null
