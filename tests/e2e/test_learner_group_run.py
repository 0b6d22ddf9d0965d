"""A run whose learner is 2 FSDP2 ranks: one rank dies mid-run and the run fails naming it with its
last checkpoint intact (that a 2-rank checkpoint resumes on a single learner: test_driver_killed)."""

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.slow

SETTINGS = [
    "trainer.steps=3",
    "trainer.checkpoint_every=1",
    "rollout.groups_per_step=2",
    "resources.rollout.num_cpus=0.5",
    "resources.learner.num_cpus=0.5",
]


def test_a_dead_learner_rank_fails_the_step_naming_it_and_keeps_its_checkpoint(tiny_model, tmp_path):
    two_ranks = ["resources.learner.num_workers=2"]
    failed = run_cli(
        "run",
        *(f"--set={s}" for s in SETTINGS + two_ranks),
        cwd=tmp_path,
        env={"GOLDILOCKS_FAULTS": "kill_learner_rank_at_step=2"},
    )
    assert failed.returncode != 0
    out = failed.stdout + failed.stderr
    assert "step 2 failed: learner rank 1 of 2 failed during update: its process died" in out, out
    (run_dir,) = (tmp_path / "runs").iterdir()
    kept = run_dir / "checkpoints" / "step_000002"
    assert f"the last checkpoint, {kept.resolve()}, is intact" in " ".join(out.split()), out
    assert sorted(p.name for p in kept.parent.iterdir()) == ["step_000001", "step_000002"]
