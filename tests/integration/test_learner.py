"""The learner on the real tiny policy, without Ray or vLLM."""

import pytest
import torch
from transformers import AutoTokenizer

from workers.chat_format import opening_segment
from workers.learner import Learner, LearnerSettings
from workers.rl.token_logprobs import token_logprobs_and_entropy
from workers.types import TrainBatch

pytestmark = pytest.mark.slow


def settings(**overrides) -> LearnerSettings:
    base = dict(lr=3e-4, clip_low=0.2, clip_high=0.28, kl_coef=0.0, max_grad_norm=1.0, micro_batch_size=2, ppo_epochs=1)
    return LearnerSettings(**(base | overrides))


def batch_of(tiny_model) -> TrainBatch:
    tok = AutoTokenizer.from_pretrained(tiny_model)
    prompt = tok.encode(opening_segment("Be kind.", "I just need to vent for a while."), add_special_tokens=False)
    replies = ["Go on, I am listening. Take your time with it.", "Practically, you could try a plan."]
    ids = [prompt + tok.encode(r, add_special_tokens=False) + [tok.eos_token_id] for r in replies]
    masks = [[0] * len(prompt) + [1] * (len(x) - len(prompt)) for x in ids]
    return TrainBatch(ids, masks, [[0.0] * len(x) for x in ids], advantages=[1.0, -1.0])


def sequence_logprob(learner: Learner, ids: list[int], mask: list[int]) -> float:
    x = torch.tensor([ids])
    with torch.no_grad():
        logp, _ = token_logprobs_and_entropy(learner.model(input_ids=x).logits, x)
    return logp[0][torch.tensor(mask, dtype=torch.bool)].sum().item()


def test_an_update_raises_the_positive_sequence_and_lowers_the_negative(tiny_model):
    learner = Learner(tiny_model, settings(), seed=0)
    batch = batch_of(tiny_model)
    old = [sequence_logprob(learner, i, m) for i, m in zip(batch.token_ids, batch.policy_mask, strict=True)]
    batch.old_logprobs = [
        token_logprobs_and_entropy(learner.model(input_ids=torch.tensor([i])).logits, torch.tensor([i]))[0][0].tolist()
        for i in batch.token_ids
    ]
    metrics = learner.update(batch)
    new = [sequence_logprob(learner, i, m) for i, m in zip(batch.token_ids, batch.policy_mask, strict=True)]
    assert new[0] > old[0] and new[1] < old[1]
    assert metrics["actor/clip_frac"] == 0.0 and metrics["actor/kl"] == 0.0 and learner.version == 1


def test_lr_warms_up_linearly(tiny_model):
    learner = Learner(tiny_model, settings(warmup_steps=3), seed=0)
    batch = batch_of(tiny_model)
    lrs = [learner.update(batch)["actor/lr"] for _ in range(5)]
    assert lrs == pytest.approx([0.75e-4, 1.5e-4, 2.25e-4, 3e-4, 3e-4])


def test_save_writes_a_loadable_policy_and_the_optimizer(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    learner = Learner(tiny_model, settings(), seed=0)
    learner.update(batch_of(tiny_model))
    learner.save(str(tmp_path / "ckpt"))
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt")
    assert torch.equal(reloaded.model.embed_tokens.weight, learner.model.model.embed_tokens.weight)
    state = torch.load(tmp_path / "ckpt" / "optimizer.pt", weights_only=True)
    assert state["version"] == 1 and state["optimizer"]["state"]


def test_a_restored_learner_continues_the_same_optimisation(tiny_model, tmp_path):
    """Adam's moments, the warm-up position and the KL anchor survive a restart: the update after
    a restore is the update the uninterrupted learner makes."""
    batch = batch_of(tiny_model)
    kw = dict(warmup_steps=3, kl_coef=0.1)
    straight = Learner(tiny_model, settings(**kw), seed=0)
    straight.update(batch)
    straight.save(str(tmp_path / "ckpt"))
    resumed = Learner(str(tmp_path / "ckpt"), settings(**kw), seed=5, reference_dir=tiny_model)
    resumed.restore(str(tmp_path / "ckpt"))
    a, b = straight.update(batch), resumed.update(batch)
    assert a == pytest.approx(b, rel=1e-6) and a["actor/kl"] > 0
    assert resumed.version == straight.version == 2
    for p, q in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-7)


def test_a_non_finite_loss_skips_the_update_and_leaves_the_weights_alone(tiny_model):
    learner = Learner(tiny_model, settings(), seed=0)
    before = [p.detach().clone() for p in learner.model.parameters()]
    batch = batch_of(tiny_model)
    batch.advantages = [float("nan"), 1.0]
    assert learner.update(batch)["faults/skipped_update"] == 1.0
    assert all(torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))
    batch.advantages = [1.0, -1.0]
    assert learner.update(batch)["faults/skipped_update"] == 0.0
    assert not all(torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))
