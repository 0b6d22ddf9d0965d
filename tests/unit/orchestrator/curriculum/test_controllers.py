import math

import optuna
import pytest

from orchestrator.config import load_config
from orchestrator.curriculum.controllers import DIFFICULTY, BatchStats, make_controller


def stats(pass_rate: float, d: float = 0.5, informative: float = 0.5) -> BatchStats:
    passes = round(pass_rate * 8)
    return BatchStats(pass_rate, informative, pass_rate, group_difficulties=(d, d), group_passes=(passes, passes), group_size=8)


def controller(*overrides: str):
    return make_controller(load_config(None, ["trainer.steps=4", *overrides]), "study", None)


def test_fixed_never_moves():
    c = controller("curriculum.controller=fixed", "curriculum.initial_difficulty=0.4")
    proposals = []
    for step in range(3):
        proposals.append(c.propose(step).difficulty)
        c.observe(step, proposals[-1], stats(1.0))
    assert proposals == [0.4, 0.4, 0.4]


def test_linear_ramps_from_start_to_end():
    c = controller("curriculum.controller=linear", "curriculum.initial_difficulty=0.2", "curriculum.final_difficulty=0.8")
    proposals = []
    for step in range(4):
        proposals.append(c.propose(step).difficulty)
        c.observe(step, proposals[-1], stats(0.5))
    assert proposals == pytest.approx([0.2, 0.4, 0.6, 0.8])


def test_adarft_follows_the_published_rule():
    c = controller("curriculum.controller=adarft", "curriculum.initial_difficulty=0.5")
    d0 = c.propose(0).difficulty
    c.observe(0, d0, stats(1.0))
    assert c.propose(1).difficulty == pytest.approx(0.5 + 0.5 * math.tanh(2 * 0.5))


def test_every_step_is_a_trial_with_its_evidence_and_the_band_distance():
    c = controller("curriculum.band=[0.4,0.6]")
    d = c.propose(0).difficulty
    c.observe(0, d, stats(0.25, d))
    (trial,) = c.study.trials
    assert trial.params[DIFFICULTY] == d and trial.value == pytest.approx(0.15)
    assert trial.user_attrs["pass_rate"] == 0.25 and trial.user_attrs["step"] == 0
    assert trial.user_attrs["group_points"] == [[d, 2, 8], [d, 2, 8]]
    assert c.completed_steps() == 1


def test_the_informative_signal_is_told_its_shortfall_from_what_the_band_edges_give():
    c = controller(
        "curriculum.controller=band", "curriculum.signal=informative_frac", "curriculum.band=[0.4,0.6]", "rollout.group_size=8"
    )
    floor = 1 - 0.4**8 - 0.6**8
    for step, (pass_rate, informative) in enumerate([(0.1, 0.5), (0.5, 1.0), (0.9, floor)]):
        d = c.propose(step).difficulty
        c.observe(step, d, stats(pass_rate, d, informative))
    assert [t.value for t in c.study.trials] == pytest.approx([floor - 0.5, 0.0, 0.0])


def test_observe_before_propose_is_an_error():
    with pytest.raises(RuntimeError, match="before propose"):
        controller().observe(0, 0.3, stats(0.5))


def test_a_step_asked_but_never_told_is_marked_failed_on_reopen(tmp_path):
    storage = f"sqlite:///{tmp_path}/c.db"
    cfg = load_config(None, ["curriculum.controller=band"])
    make_controller(cfg, "run", storage).propose(0)
    reopened = make_controller(cfg, "run", storage)
    assert [t.state for t in reopened.study.trials] == [optuna.trial.TrialState.FAIL]


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_reopened_band_study_continues_where_it_stopped(tmp_path, kind):
    """Both storages the config accepts: the controller re-opened on the stored study proposes
    what the uninterrupted one does, from the same evidence."""
    storage = f"sqlite:///{tmp_path}/c.db" if kind == "sqlite" else str(tmp_path / "c.log")
    cfg = load_config(None, ["curriculum.controller=band", f"curriculum.storage={storage}"])
    uninterrupted, stored = make_controller(cfg, "run", None), make_controller(cfg, "run", storage)
    for step, rate in enumerate([0.8, 0.7, 0.65, 0.55]):
        for c in (uninterrupted, stored):
            d = c.propose(step).difficulty
            c.observe(step, d, stats(rate, d))
    reopened = make_controller(cfg, "run", storage)
    assert reopened.completed_steps() == 4
    assert reopened.propose(4).difficulty == pytest.approx(uninterrupted.propose(4).difficulty)


def test_noise_sd_from_the_groups():
    s = BatchStats(0.5, 1.0, 0.5, group_difficulties=(0.3, 0.3), group_passes=(0, 8), group_size=8)
    assert s.noise_sd == pytest.approx(math.sqrt(0.5 / 2))


def test_the_entropy_guard_holds_below_the_floor_then_eases_until_entropy_recovers():
    from orchestrator.curriculum.controllers import EntropyGuard

    guard = EntropyGuard(floor=0.5, patience=2, max_step=0.1)
    assert guard.difficulty([0.9, 0.6], last=0.7) is None
    assert guard.difficulty([0.9, 0.4], last=0.7) == 0.7
    assert guard.difficulty([0.9, 0.4, 0.3], last=0.7) == 0.7
    assert guard.difficulty([0.9, 0.4, 0.3, 0.2], last=0.7) == pytest.approx(0.6)
    assert guard.difficulty([0.4, 0.3, 0.2, 0.1], last=0.05) == 0.0
    assert guard.difficulty([0.4, 0.3, 0.2, 0.1, 0.55], last=0.3) is None


@pytest.mark.parametrize("name", ["fixed", "linear", "adarft", "band", "progress", "tpe"])
def test_every_controller_gives_way_to_the_entropy_guard_and_a_reopened_study_keeps_its_count(name, tmp_path):
    """Entropy 1.0 for three steps, then 0.2 (below the floor 0.5, patience 1), then 0.8 again: the
    difficulty holds one step, eases by max_step a step, and the controller takes over once the
    entropy is back; a study re-opened mid-way goes on counting from its trials."""
    config = load_config(
        None,
        [
            f"curriculum.controller={name}",
            "curriculum.initial_difficulty=0.6",
            "curriculum.final_difficulty=0.9",
            "curriculum.entropy_floor=0.5",
            "curriculum.entropy_patience=1",
            "curriculum.max_step=0.1",
            "trainer.steps=9",
        ],
    )
    storage = f"sqlite:///{tmp_path}/curriculum.db"
    entropies = [None, 1.0, 1.0, 0.2, 0.2, 0.2, 0.8, 0.8]
    c = make_controller(config, "run", storage)
    proposals, acting = [], []
    for step, entropy in enumerate(entropies):
        if step == 5:
            c = make_controller(config, "run", storage)
        proposal = c.propose(step, entropy)
        proposals.append(proposal.difficulty)
        acting.append(proposal.guard_acting)
        c.observe(step, proposals[-1], stats(0.5, proposals[-1]))
    assert acting == [False, False, False, True, True, True, False, False]
    assert proposals[3] == proposals[2]
    assert proposals[4] == pytest.approx(proposals[3] - 0.1) and proposals[5] == pytest.approx(proposals[4] - 0.1)
    if name == "fixed":
        assert proposals[6] == 0.6


def test_without_a_floor_the_guard_never_acts():
    c = controller("curriculum.controller=fixed", "curriculum.initial_difficulty=0.4")
    for step in range(3):
        proposal = c.propose(step, 0.0)
        assert proposal.difficulty == 0.4 and not proposal.guard_acting
        c.observe(step, 0.4, stats(0.5))


def test_spread_jitters_each_group_around_the_proposal_within_the_unit_interval_and_resumes_alike(tmp_path):
    c = controller("curriculum.controller=fixed", "curriculum.initial_difficulty=0.95", "curriculum.spread=0.1")
    buckets = tuple(f"b{i}" for i in range(10))
    proposal = c.propose(0, buckets=buckets)
    assert proposal.difficulty == 0.95 and len(proposal.group_levels) == 10
    assert all(0.85 <= x <= 1.0 for x in proposal.group_levels) and len(set(proposal.group_levels)) > 1
    again = controller("curriculum.controller=fixed", "curriculum.initial_difficulty=0.95", "curriculum.spread=0.1")
    assert again.propose(0, buckets=buckets) == proposal
    plain = controller("curriculum.controller=fixed", "curriculum.initial_difficulty=0.4")
    assert plain.propose(0, buckets=buckets).levels == 0.4
