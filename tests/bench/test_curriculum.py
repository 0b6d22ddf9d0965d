"""The curriculum bench's design and report: seeds that never replay a warm start, the ledger that
carries the experiment across sessions, the choice made on selection pairs only, and the verdicts
built from a ledger."""

import json

import numpy as np
import pytest

from bench.curriculum import PILOT, chosen_candidates
from bench.curriculum_design import (
    AA_ROW,
    CANDIDATES,
    MAIN_ROWS,
    SELECTION_PAIRS,
    Ledger,
    Pair,
    seeds_are_disjoint,
    weights_sha256,
)
from bench.curriculum_report import pilot_sd, reanalyse_pilot, summarise


def test_no_run_replays_its_warm_starts_users_and_phases_do_not_share_seeds():
    pairs = [Pair("select", j) for j in range(SELECTION_PAIRS)] + [Pair("main", k) for k in range(40)]
    assert seeds_are_disjoint(pairs)
    assert len({p.warm_start for p in pairs}) == len(pairs)
    assert not seeds_are_disjoint([Pair("main", 0), Pair("main", 0)])


def test_every_family_has_the_same_tuning_budget():
    assert {len(c) for c in CANDIDATES.values()} == {4}
    assert [float(name.split("@")[1]) for name in CANDIDATES["fixed"]] == [0.2, 0.35, 0.5, 0.65]


def test_a_rebuilt_warm_start_with_other_weights_drops_the_runs_recorded_on_it(tmp_path):
    ledger = Ledger(tmp_path / "runs.jsonl")
    assert ledger.record_warm_start("main-ws0", 30000, "aaa") == []
    ledger.record_run({"phase": "main", "row": "band", "candidate": "band@0.5", "pair": "main-ws0", "auc": 1.0})
    ledger.record_run({"phase": "main", "row": "band", "candidate": "band@0.5", "pair": "main-ws1", "auc": 2.0})
    assert Ledger(ledger.path).record_warm_start("main-ws0", 30000, "aaa") == []
    reread = Ledger(ledger.path)
    dropped = reread.record_warm_start("main-ws0", 30000, "bbb")
    assert [e["pair"] for e in dropped] == ["main-ws0"]
    again = Ledger(ledger.path)
    assert again.run("main", "band@0.5", "band", "main-ws0") is None
    assert again.run("main", "band@0.5", "band", "main-ws1")["auc"] == 2.0
    assert again.warm_start("main-ws0")["sha256"] == "bbb"


def test_a_warm_starts_identity_is_its_weights(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "a" / "trainer_state.json").write_text("{}")
    first = weights_sha256(tmp_path / "a")
    (tmp_path / "a" / "trainer_state.json").write_text('{"step": 2}')
    assert weights_sha256(tmp_path / "a") == first
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="safetensors"):
        weights_sha256(tmp_path / "empty")


def _run(phase, row, candidate, pair, seed, auc):
    curve = [[12 * (i + 1), auc + i] for i in range(5)]
    return {"phase": phase, "row": row, "candidate": candidate, "pair": pair, "seed": seed, "auc": auc, "final": auc + 4,
            "curve": curve, "score_se_max": 1.0, "mean_difficulty": 0.5, "pass_rate": 0.5, "steps_to_target": None}  # fmt: skip


def _ledger(tmp_path, main_pairs: int) -> Ledger:
    ledger = Ledger(tmp_path / "runs.jsonl")
    rng = np.random.default_rng(0)
    for j in range(SELECTION_PAIRS):
        for family, candidates in CANDIDATES.items():
            for i, name in enumerate(candidates):
                ledger.record_run(_run("select", family, name, f"select-ws{j}", 10_000 + j, 30 + i + rng.normal()))
    shift = {"fixed": 0.0, "band": -5.0, "progress": 0.0, AA_ROW: -5.0}
    for k in range(main_pairs):
        base = rng.normal(38, 3)
        for row in MAIN_ROWS:
            ledger.record_run(_run("main", row, "x", f"main-ws{k}", 1 + k, base + shift[row] + rng.normal(0, 0.5)))
    return ledger


PILOT_RESULTS = json.loads(PILOT.read_text())


def test_the_pilot_sizes_the_experiment_and_is_re_judged_by_the_current_rules():
    assert pilot_sd(PILOT_RESULTS) == pytest.approx(4.02, abs=0.01)
    reanalysed = reanalyse_pilot(PILOT_RESULTS)
    primary = [v for v in reanalysed["verdicts"] if v["family"] == "primary"]
    assert len(primary) == 4 and all(v["claim"] == "inconclusive" and v["unit"] == "seed" for v in primary)
    assert min(v["exact_p"] for v in primary) >= 0.0625


def test_the_choice_is_made_on_selection_pairs_only(tmp_path):
    ledger = _ledger(tmp_path, 0)
    assert chosen_candidates(ledger) == {family: list(c)[-1] for family, c in CANDIDATES.items()}
    assert chosen_candidates(Ledger(tmp_path / "empty.jsonl")) is None


def test_the_report_holds_every_number_the_issue_asks_for(tmp_path):
    ledger = _ledger(tmp_path, 12)
    result = summarise(ledger, chosen_candidates(ledger), tmp_path / "curriculum.png", 20, PILOT_RESULTS)
    json.dumps(result)
    assert result["status"] == "partial" and result["warm_starts"] == 12
    primary = {v["row"]: v for v in result["verdicts"] if v["family"] == "primary"}
    assert set(primary) == {"band", "progress"}
    for key in ("mean", "t_low", "t_high", "exact_p", "holm_t_p", "holm_exact_p", "holm_tost_p", "mde"):
        assert key in primary["band"]
    assert primary["band"]["claim"] == "worse (interim: 12 of 20 pairs)" and primary["progress"]["holm_tost_p"] < 0.05
    (aa,) = result["aa"]
    assert aa["row"] == AA_ROW and aa["reference"] == "band" and not aa["claim"].startswith("worse")
    for rate in result["calibration"]["simulated"] + [result["calibration"]["real_aa"]]:
        assert rate["rate"] <= 0.07
    assert result["calibration"]["peeking"]["pairs"] == 20 and result["calibration"]["peeking"]["low"] > 0.05
    assert (tmp_path / "curriculum.png").stat().st_size and (tmp_path / "curriculum_verdicts.png").stat().st_size
    assert result["rows"]["band"]["pairs"] == 12 and result["selection"]["fixed"]["fixed@0.65"]["chosen"]


def test_the_report_at_the_planned_pairs_is_complete_and_its_claims_final(tmp_path):
    ledger = _ledger(tmp_path, 12)
    result = summarise(ledger, chosen_candidates(ledger), tmp_path / "curriculum.png", 12, PILOT_RESULTS)
    primary = {v["row"]: v for v in result["verdicts"] if v["family"] == "primary"}
    assert result["status"] == "complete" and primary["band"]["claim"] == "worse" and not primary["band"]["interim"]


def test_a_report_before_the_main_phase_says_it_is_pending(tmp_path):
    ledger = _ledger(tmp_path, 1)
    result = summarise(ledger, chosen_candidates(ledger), tmp_path / "c.png", 20, PILOT_RESULTS)
    assert result["verdicts"] == [] and result["status"].startswith("pending")
    assert (tmp_path / "c.png").stat().st_size and not (tmp_path / "c_verdicts.png").exists()
    assert result["calibration"]["simulated"][0]["pairs"] == 20 and result["calibration"]["real_aa"]["rate"] <= 0.07


def test_a_pair_whose_rows_ran_on_different_cpus_is_named(tmp_path):
    from bench.curriculum_report import pairs_across_machines

    ledger = Ledger(tmp_path / "runs.jsonl")
    base = {"phase": "select", "row": "fixed", "seed": 10000, "auc": 30.0}
    ledger.record_run(base | {"candidate": "fixed@0.2", "pair": "select-ws0"})  # before the field: unrecorded
    ledger.record_run(base | {"candidate": "fixed@0.35", "pair": "select-ws0", "machine": "AMD"})
    ledger.record_run(base | {"candidate": "fixed@0.2", "pair": "select-ws1", "machine": "Intel"})
    ledger.record_run(base | {"candidate": "fixed@0.35", "pair": "select-ws1", "machine": "Intel"})
    assert pairs_across_machines(ledger) == ["select-ws0"]


def test_a_pairs_warm_start_is_checked_before_its_recorded_runs_are_kept(tmp_path, monkeypatch):
    """A run recorded on a warm start that is rebuilt with other weights is run again in the same
    invocation, not skipped because the ledger held it when the pair began."""
    import argparse

    import bench.curriculum as bench

    ledger = _ledger(tmp_path, 0)
    chosen = chosen_candidates(ledger)
    ledger.record_warm_start("main-ws0", Pair("main", 0).warm_start_seed, "old")
    first = MAIN_ROWS[0]
    ledger.record_run(_run("main", first, chosen[first], "main-ws0", Pair("main", 0).seed, 1.0))

    def rebuilt(pair, args, ledger):
        ledger.record_warm_start(pair.warm_start, pair.warm_start_seed, "new")
        return tmp_path

    trained = []

    def train_run(pair, row, name, overrides, init, args):
        trained.append(row)
        level = f"eval/{args.level:g}"
        series = {f"{level}/score": 40.0, f"{level}/score_se": 1.0, "curriculum/difficulty": 0.5, "curriculum/pass_rate": 0.5}
        return f"run-{row}", {key: [(11, value)] for key, value in series.items()}

    monkeypatch.setattr(bench, "warm_start", rebuilt)
    monkeypatch.setattr(bench, "train_run", train_run)
    args = argparse.Namespace(pairs=1, max_minutes=None, level=0.65, target=43.0, out=tmp_path, overrides=[])
    bench.run_experiment(args, ledger)
    assert trained == MAIN_ROWS
    assert all(Ledger(ledger.path).run("main", chosen[r.removesuffix("/aa")], r, "main-ws0")["auc"] == 40.0 for r in MAIN_ROWS)
