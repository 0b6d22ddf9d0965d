"""The curriculum bench's comparison: which row is the reference, which intervals it reports."""

import pytest

from bench.curriculum import AA_SUFFIX, compare, parse_rows, row_overrides


def runs(aucs: list[float]) -> list[dict]:
    return [{"auc": a, "final": a + 1, "steps_to_target": None, "mean_difficulty": 0.5, "pass_rate": 0.5} for a in aucs]


def test_the_best_fixed_row_is_the_reference_and_every_other_row_is_paired_to_it():
    result = compare(
        {
            "fixed@0.35": runs([30, 32, 31, 29, 33]),
            "fixed@0.65": runs([20, 25, 22, 21, 24]),
            "band": runs([33, 35, 34, 32, 36]),
            "band/aa": runs([33.5, 34.5, 34, 32.5, 35.5]),
        }
    )
    assert result["best_fixed"] == "fixed@0.35"
    assert set(result["vs_best_fixed"]) == {"fixed@0.65", "band", "band/aa"}
    band = result["vs_best_fixed"]["band"]["auc"]
    assert band["point"] == pytest.approx(3.0) and band["low"] == band["high"] == pytest.approx(3.0)
    assert result["aa"]["band/aa"]["low"] <= 0 <= result["aa"]["band/aa"]["high"]
    assert result["controllers"]["band"]["auc"]["point"] == pytest.approx(34.0)


def test_an_a_a_row_moves_only_the_policys_sampling_seed():
    rows = parse_rows(["sweep-best=curriculum.controller=band;curriculum.band=[0.3,0.5]"])
    assert rows["sweep-best"] == ["curriculum.controller=band", "curriculum.band=[0.3,0.5]"]
    assert row_overrides("band" + AA_SUFFIX, rows, 3) == [*rows["band"], "rollout.sampling_seed=1003"]
    with pytest.raises(SystemExit, match="--row"):
        parse_rows(["no-body"])
