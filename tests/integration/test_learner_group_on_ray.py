"""A learner group of 2 FSDP2 ranks (gloo, CPU) on a local Ray cluster, against the single-process
learner on the same batches."""

import pytest
import ray
import torch

from orchestrator.cluster.learner_group import LearnerFailed, LearnerGroup, start_learner_group
from orchestrator.cluster.ray_session import ray_session
from orchestrator.config import load_config
from orchestrator.fault_injection import FaultyLearner
from tests.integration.test_learner import own_logprobs, sequences_of, settings
from workers.learner import Learner
from workers.learner_config import LearnerSettings
from workers.lora_config import LoraConfig
from workers.types import TrainBatch

pytestmark = pytest.mark.slow

REPLIES = (
    "Go on, I am listening. Take your time with it.",
    "Practically, you could try a plan.",
    "That sounds hard.",
    "I hear you; what happened next, and how did it leave you feeling?",
    "Maybe talk to someone?",
)


@pytest.fixture(scope="module")
def cluster():
    with ray_session(load_config(None, ["ray.num_cpus=4"])):
        yield


def group_of(model_dir: str, size: int, learner_settings: LearnerSettings, reference_dir: str | None = None) -> LearnerGroup:
    def rank(i, spec):
        return ray.remote(Learner).options(num_cpus=1).remote(model_dir, learner_settings, 0, 1, reference_dir, spec)

    return start_learner_group(rank, size, "DEFAULT")


def batches(model_dir: str, learner: Learner) -> list[TrainBatch]:
    seqs = sequences_of(model_dir, REPLIES)
    return [own_logprobs(learner, seqs, adv) for adv in ([1.0, -1.0, 0.5, -0.5, 0.2], [-0.3, 1.0, -1.0, 0.4, 0.1])]


def snapshot_of(group: LearnerGroup) -> dict[str, torch.Tensor]:
    ref, _ = group.weights("float32")
    return ray.get(ref).tensors


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], start: dict[str, torch.Tensor]) -> None:
    """The two learners' weights differ by under 0.1% of how far the updates moved them (L2 over
    all weights; single elements whose gradient is near Adam's eps differ by more, from the
    order in which the ranks' partial gradients were summed)."""
    assert a.keys() == b.keys() == start.keys()
    apart = sum(((a[k] - b[k]) ** 2).sum().item() for k in a) ** 0.5
    moved = sum(((b[k] - start[k]) ** 2).sum().item() for k in a) ** 0.5
    assert moved > 0 and apart < 1e-3 * moved, f"weights {apart:g} apart after moving {moved:g}"


CASES = {
    "kl+epochs": settings(lr=1e-4, max_tokens_per_micro_batch=60, kl_coef=0.05, ppo_epochs=2),
    # KL on: the anchor is the sharded base with the adapter switched off
    "lora+kl": settings(
        lr=1e-4,
        max_tokens_per_micro_batch=60,
        kl_coef=0.05,
        lora=LoraConfig(rank=8, alpha=16, target_modules=["q_proj", "v_proj"]),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_two_rank_update_equals_the_single_process_update(cluster, tiny_model, case):
    """Same batch, same start: the same metrics and weights after two updates. The budget of 60
    padded tokens gives an odd number of micro-batches, so the ranks' shares are evened out."""
    s = CASES[case]
    single = Learner(tiny_model, s, seed=0)
    start = single.weights("float32")[0].tensors
    group = group_of(tiny_model, 2, s)
    for batch in batches(tiny_model, single):
        alone, sharded = single.update(batch), group.update(batch)
        for key in ("actor/pg_loss", "actor/entropy", "actor/grad_norm", "actor/kl", "actor/clip_frac"):
            assert sharded[key] == pytest.approx(alone[key], rel=1e-4, abs=1e-7), key
    assert_same_weights(snapshot_of(group), single.weights("float32")[0].tensors, start)
    scored = group.call("score", batch)
    assert torch.allclose(scored, single.score(batch), atol=1e-5)
    group.stop()


def test_checkpoints_move_between_two_ranks_and_one(cluster, tiny_model, tmp_path):
    """2 ranks write, 1 resumes; 1 writes, 2 resume: the next update is the one the writer would
    have made (Adam's moments and the schedule travel, keyed by name)."""
    s = settings(lr=1e-4, max_tokens_per_micro_batch=60, warmup_steps=3)
    probe = Learner(tiny_model, s, seed=0)
    start = probe.weights()[0].tensors
    first, second = batches(tiny_model, probe)
    group = group_of(tiny_model, 2, s)
    group.update(first)
    group.save(str(tmp_path / "by-two"))
    group.update(second)
    resumed_on_one = Learner(str(tmp_path / "by-two"), s, seed=3, reference_dir=tiny_model)
    assert resumed_on_one.restore(str(tmp_path / "by-two")) == 1
    resumed_on_one.update(second)
    assert_same_weights(resumed_on_one.weights()[0].tensors, snapshot_of(group), start)
    group.stop()

    single = Learner(tiny_model, s, seed=0)
    single.update(first)
    single.save(str(tmp_path / "by-one"))
    single.update(second)
    resumed_on_two = group_of(str(tmp_path / "by-one"), 2, s, reference_dir=tiny_model)
    assert resumed_on_two.restore(str(tmp_path / "by-one")) == 1
    resumed_on_two.update(second)
    assert_same_weights(snapshot_of(resumed_on_two), single.weights()[0].tensors, start)
    resumed_on_two.stop()


def test_a_rank_that_dies_fails_the_call_naming_it_and_stops_the_group(cluster, tiny_model):
    s = settings(max_tokens_per_micro_batch=60)
    group = group_of(tiny_model, 2, s)
    batch = batches(tiny_model, Learner(tiny_model, s, seed=0))[0]
    dying = FaultyLearner(group, at_step=0, first_step=0)  # its last rank is killed as the update starts
    with pytest.raises(LearnerFailed, match=r"learner rank 1 of 2 failed during update: its process died"):
        dying.result(dying.submit_update(batch))
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(group.ranks[0].__ray_ready__.remote(), timeout=30)
