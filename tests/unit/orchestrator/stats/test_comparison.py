import numpy as np
import pytest

from orchestrator.stats.analysis_config import AnalysisConfig
from orchestrator.stats.comparison import judge

PLAN = AnalysisConfig(metric="auc", reference="fixed", comparisons=["band", "progress"], secondary_metrics=["final"], margin=2.0)


def _row(values) -> dict:
    return {(f"ws{i}", i + 1): float(v) for i, v in enumerate(values)}


def _data(n: int, band_shift: float, progress_shift: float, sd: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    fixed = rng.normal(40, 3, n)
    rows = {
        "fixed": _row(fixed),
        "band": _row(fixed + band_shift + rng.normal(0, sd, n)),
        "progress": _row(fixed + progress_shift + rng.normal(0, sd, n)),
        "band/aa": _row(fixed + rng.normal(0, sd, n)),
    }
    return {"auc": rows, "final": rows}


def test_a_large_difference_is_claimed_and_a_precise_null_is_shown_equivalent():
    verdicts = judge(_data(20, -6.0, 0.0, 0.8), PLAN)
    primary = {v.row: v for v in verdicts if v.family == "primary"}
    assert primary["band"].claim == "worse" and primary["band"].holm_t_p < 0.05
    assert primary["progress"].claim == "equivalent within +-2"
    assert primary["band"].holm_t_p >= primary["band"].test.t_p
    assert all(v.claim.endswith("(exploratory)") for v in verdicts if v.family == "exploratory")
    assert {v.metric for v in verdicts if v.family == "exploratory"} == {"final"}


def test_few_noisy_pairs_are_inconclusive_with_the_effect_they_could_have_seen():
    verdicts = judge(_data(5, 3.0, 3.0, 4.0), PLAN)
    for v in verdicts:
        if v.family == "primary":
            assert v.claim == "inconclusive" and v.mde > 3.0 and v.units_for_effect > 5
            assert v.sentence().startswith(f"{v.row} - fixed on auc:")


def test_exploratory_rows_are_labelled_and_uncorrected():
    verdicts = judge(_data(12, 0.0, 0.0, 2.0), PLAN, exploratory_rows=["band/aa"])
    aa = [v for v in verdicts if v.row == "band/aa"]
    assert {v.metric for v in aa} == {"auc", "final"}
    assert all(v.family == "exploratory" and v.holm_t_p == v.test.t_p for v in aa)


def test_a_missing_row_or_metric_is_named():
    data = _data(6, 0.0, 0.0, 1.0)
    del data["auc"]["progress"]
    with pytest.raises(ValueError, match="progress"):
        judge(data, PLAN)
    with pytest.raises(ValueError, match="final"):
        judge({"auc": _data(6, 0, 0, 1)["auc"]}, PLAN)
    with pytest.raises(ValueError, match="reference"):
        judge(_data(6, 0, 0, 1), AnalysisConfig(metric="auc", comparisons=["band"]))


def test_the_declared_set_is_checked_when_loaded():
    with pytest.raises(ValueError, match="reference row"):
        AnalysisConfig(reference="fixed", comparisons=["fixed", "band"])


def test_a_look_before_the_planned_pairs_is_interim_and_says_so():
    data = _data(12, -6.0, 0.0, 0.8)
    early = {v.row: v for v in judge(data, PLAN.model_copy(update={"planned_units": 20})) if v.family == "primary"}
    assert early["band"].interim and early["band"].claim == "worse (interim: 12 of 20 pairs)"
    assert early["band"].as_dict()["interim"] is True
    assert "(interim: 12 of 20 pairs)" in early["progress"].sentence()
    final = {v.row: v for v in judge(data, PLAN.model_copy(update={"planned_units": 12})) if v.family == "primary"}
    assert final["band"].look == "planned" and final["band"].claim == "worse"
    later = {v.row: v for v in judge(data, PLAN.model_copy(update={"planned_units": 10})) if v.family == "primary"}
    assert later["band"].claim == "worse (past the plan: 12 of 10 pairs)"
    assert {v.look for v in judge(data, PLAN)} == {"unplanned"}


def test_the_primary_family_is_interim_until_every_row_has_its_planned_pairs():
    """Holm ties the family's p-values: a row that has its pairs is not final while another's grow."""
    data = _data(12, -6.0, 0.0, 0.8)
    for metric in data:
        data[metric]["progress"] = dict(list(data[metric]["progress"].items())[:8])
    verdicts = judge(data, PLAN.model_copy(update={"planned_units": 12}))
    primary = {v.row: v for v in verdicts if v.family == "primary"}
    assert primary["band"].pairs == 12 and primary["band"].claim == "worse (interim: 8 of 12 pairs)"
    exploratory = {v.row: v for v in verdicts if v.family == "exploratory"}
    assert exploratory["band"].look == "planned" and exploratory["progress"].interim


def test_with_several_seeds_a_warm_start_the_plan_counts_pairs_not_warm_starts():
    rng = np.random.default_rng(0)
    keys = [(f"ws{i // 4}", i) for i in range(20)]
    fixed = rng.normal(40, 3, 20)
    rows = {"fixed": fixed, "band": fixed - 6 + rng.normal(0, 0.8, 20), "progress": fixed + rng.normal(0, 0.8, 20)}
    data = {m: {row: dict(zip(keys, map(float, v), strict=True)) for row, v in rows.items()} for m in ("auc", "final")}
    (band, _) = [v for v in judge(data, PLAN.model_copy(update={"planned_units": 20})) if v.family == "primary"]
    assert band.unit == "warm start" and band.test.pairs == 5 and band.pairs == 20 and band.look == "planned"
