"""The learner on the real tiny policy, without Ray or vLLM."""

import math

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from workers.chat_format import END_OF_TEXT, opening_segment
from workers.learner import Learner
from workers.learner_config import LearnerSettings
from workers.lora_config import LoraConfig
from workers.rl.token_logprobs import token_logprobs
from workers.types import TokenSequence, TrainBatch

pytestmark = pytest.mark.slow


def settings(**overrides) -> LearnerSettings:
    base = dict(lr=3e-4, clip_low=0.2, clip_high=0.28, kl_coef=0.0, max_grad_norm=1.0, ppo_epochs=1)
    base |= dict(max_tokens_per_micro_batch=4096, precision="fp32")
    return LearnerSettings(**(base | overrides))


def sequences_of(model_dir, replies=("Go on, I am listening. Take your time with it.", "Practically, you could try a plan.")):
    tok = AutoTokenizer.from_pretrained(model_dir)
    prompt = tok.encode(opening_segment("Be kind.", "I just need to vent for a while."), add_special_tokens=False)
    ids = [prompt + tok.encode(r, add_special_tokens=False) + [tok.eos_token_id] for r in replies]
    return [TokenSequence(x, [0] * len(prompt) + [1] * (len(x) - len(prompt)), [0.0] * len(x)) for x in ids]


def own_logprobs(learner: Learner, seqs: list[TokenSequence], advantages) -> TrainBatch:
    """A batch whose rollout log-probs are the learner's own (an exact sampler)."""
    batch = TrainBatch.from_sequences(seqs, list(advantages))
    batch.rollout_logprobs = (learner.score(batch) * torch.from_numpy(batch.policy_mask)).numpy()
    return batch


def alone(learner: Learner, ids: list[int], temperature: float = 1.0) -> torch.Tensor:
    """Log-probs of one unpadded row, no attention mask: the reference a batched row must match."""
    x = torch.tensor([ids])
    with torch.no_grad():
        return token_logprobs(learner.model(input_ids=x).logits, x, temperature)[0]


def sequence_logprob(learner: Learner, seq: TokenSequence) -> float:
    return alone(learner, seq.token_ids)[torch.tensor(seq.policy_mask, dtype=torch.bool)].sum().item()


def test_an_update_raises_the_positive_sequence_and_lowers_the_negative(tiny_model):
    learner = Learner(tiny_model, settings(), seed=0)
    seqs = sequences_of(tiny_model)
    old = [sequence_logprob(learner, s) for s in seqs]
    metrics = learner.update(own_logprobs(learner, seqs, [1.0, -1.0]))
    new = [sequence_logprob(learner, s) for s in seqs]
    assert new[0] > old[0] and new[1] < old[1]
    assert metrics["actor/clip_frac"] == 0.0 and metrics["actor/kl"] == 0.0 and learner.version == 1
    assert metrics["actor/rollout_logprob_diff"] < 1e-5 and metrics["actor/tis_weight_mean"] == pytest.approx(1.0, abs=1e-4)


def test_a_sampled_pad_id_mid_sequence_changes_nothing_around_it(tiny_model):
    """The tiny policy's pad <|endoftext|> is an ordinary id it can sample (as Qwen's can). Attention
    from the pad id hid it and moved every later log-prob; attention from lengths does not."""
    learner = Learner(tiny_model, settings(max_tokens_per_micro_batch=10**6), seed=0)
    tok = AutoTokenizer.from_pretrained(tiny_model)
    pad = tok.convert_tokens_to_ids(END_OF_TEXT)
    long, short = sequences_of(tiny_model)
    cut = len(long.token_ids) - 6
    long.token_ids[cut] = pad
    batch = TrainBatch.from_sequences([long, short], [1.0, -1.0])
    scored = learner.score(batch)
    for row, seq in enumerate((long, short)):
        policy = torch.tensor(seq.policy_mask, dtype=torch.bool)
        assert torch.allclose(scored[row, : len(policy)][policy], alone(learner, seq.token_ids)[policy], atol=1e-4)


@pytest.mark.parametrize("layout", ["no-pad", "qwen-instruct"])
def test_the_learner_trains_a_checkpoint_of_another_token_layout(layout, tiny_model):
    from workers.policy_model.bootstrap import ensure_model

    model = str(ensure_model("tiny", 0, log=lambda m: None, layout=layout))
    learner = Learner(model, settings(), seed=0)
    seqs = sequences_of(model)
    before = sequence_logprob(learner, seqs[0])
    metrics = learner.update(own_logprobs(learner, seqs, [1.0, -1.0]))
    assert metrics["faults/skipped_update"] == 0.0 and sequence_logprob(learner, seqs[0]) > before


def test_the_learner_scores_under_the_sampling_temperature(tiny_model):
    learner = Learner(tiny_model, settings(temperature=0.7), seed=0)
    seq = sequences_of(tiny_model)[0]
    policy = torch.tensor(seq.policy_mask, dtype=torch.bool)
    scored = learner.score(TrainBatch.from_sequences([seq], [1.0]))[0][policy]
    assert torch.allclose(scored, alone(learner, seq.token_ids, 0.7)[policy], atol=1e-5)
    assert not torch.allclose(scored, alone(learner, seq.token_ids, 1.0)[policy], atol=1e-2)


def test_a_rollout_mismatch_is_reported_and_corrected_by_a_truncated_weight(tiny_model):
    """Rollout log-probs 0.3 above the learner's (a sampler that over-rates its tokens): the diff
    metric reads 0.3, each token's loss is weighted e^-0.3, and with the weight capped below that
    the cap is what counts."""
    seqs = sequences_of(tiny_model)
    for cap, expected in ((2.0, math.exp(-0.3)), (0.5, 0.5)):
        learner = Learner(tiny_model, settings(tis_cap=cap), seed=0)
        batch = own_logprobs(learner, seqs, [1.0, -1.0])
        batch.rollout_logprobs = batch.rollout_logprobs + 0.3 * batch.policy_mask
        metrics = learner.update(batch)
        assert metrics["actor/rollout_logprob_diff"] == pytest.approx(0.3, abs=1e-4)
        assert metrics["actor/tis_weight_mean"] == pytest.approx(expected, rel=1e-3)
        assert metrics["actor/tis_capped_frac"] == (1.0 if cap < 1 else 0.0)


def test_absurd_rollout_logprobs_leave_the_update_finite(tiny_model):
    """A rollout log-prob of -1000 (a broken sampler) once made exp(logp - old) infinite."""
    learner = Learner(tiny_model, settings(ppo_epochs=2), seed=0)
    batch = own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0])
    batch.rollout_logprobs = np.where(batch.policy_mask, -1000.0, 0.0).astype(np.float32)
    metrics = learner.update(batch)
    assert metrics["faults/skipped_update"] == 0.0 and all(math.isfinite(v) for v in metrics.values())


def test_old_and_reference_logprobs_are_computed_once_per_update(tiny_model):
    """Epoch 1 compares with the learner's pre-update log-probs (so its ratio moves off 1); the
    frozen reference is scored once per micro-batch, not once per epoch; no forward builds a KV cache."""
    learner = Learner(tiny_model, settings(ppo_epochs=3, kl_coef=0.1, max_tokens_per_micro_batch=1, lr=5e-3), seed=0)
    calls = {"reference": 0, "cache": []}
    reference, policy = learner.reference.model.get_decoder(), learner.model.get_decoder()
    ref_forward, forward = reference.forward, policy.forward

    def counting(*a, **kw):
        calls["reference"] += 1
        return ref_forward(*a, **kw)

    def recording(*a, **kw):
        calls["cache"].append(kw.get("use_cache"))
        return forward(*a, **kw)

    reference.forward, policy.forward = counting, recording
    metrics = learner.update(own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0]))
    assert calls["reference"] == 2 and set(calls["cache"]) == {False}
    assert metrics["actor/clip_frac"] > 0 and metrics["actor/kl"] > 0


@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_every_loss_aggregation_trains(tiny_model, agg):
    learner = Learner(tiny_model, settings(loss_agg=agg, loss_norm_tokens=40.0), seed=0)
    seqs = sequences_of(tiny_model)
    before = [sequence_logprob(learner, s) for s in seqs]
    learner.update(own_logprobs(learner, seqs, [1.0, -1.0]))
    after = [sequence_logprob(learner, s) for s in seqs]
    assert after[0] > before[0] and after[1] < before[1]


def test_weights_go_out_in_the_rollout_dtype_tagged_with_the_version(tiny_model):
    learner = Learner(tiny_model, settings(), seed=0)
    learner.update(own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0]))
    snapshot, size = learner.weights("bfloat16")
    assert snapshot.version == 1 and {t.dtype for t in snapshot.tensors.values()} == {torch.bfloat16}
    assert torch.equal(snapshot.tensors["lm_head.weight"], snapshot.tensors["model.embed_tokens.weight"])
    assert size == sum(2 * t.numel() for t in snapshot.tensors.values())


def test_lr_warms_up_linearly(tiny_model):
    learner = Learner(tiny_model, settings(warmup_steps=3), seed=0)
    batch = own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0])
    lrs = [learner.update(batch)["actor/lr"] for _ in range(5)]
    assert lrs == pytest.approx([0.75e-4, 1.5e-4, 2.25e-4, 3e-4, 3e-4])


def test_save_writes_a_loadable_policy_and_the_optimizer(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    learner = Learner(tiny_model, settings(), seed=0)
    learner.update(own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0]))
    learner.save(str(tmp_path / "ckpt"))
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt")
    assert torch.equal(reloaded.model.embed_tokens.weight, learner.model.model.embed_tokens.weight)
    state = torch.load(tmp_path / "ckpt" / "optimizer.pt", weights_only=True)
    assert state["version"] == 1 and state["optimizer"]["state"]


def test_a_restored_learner_continues_the_same_optimisation(tiny_model, tmp_path):
    """Adam's moments, the warm-up position and the KL anchor survive a restart: the update after
    a restore is the update the uninterrupted learner makes."""
    kw = dict(warmup_steps=3, kl_coef=0.1)
    straight = Learner(tiny_model, settings(**kw), seed=0)
    batch = own_logprobs(straight, sequences_of(tiny_model), [1.0, -1.0])
    straight.update(batch)
    straight.save(str(tmp_path / "ckpt"))
    resumed = Learner(str(tmp_path / "ckpt"), settings(**kw), seed=5, reference_dir=tiny_model)
    resumed.restore(str(tmp_path / "ckpt"))
    a, b = ({k: v for k, v in learner.update(batch).items() if not k.startswith("perf/")} for learner in (straight, resumed))
    assert a == pytest.approx(b, rel=1e-6) and a["actor/kl"] > 0
    assert resumed.version == straight.version == 2
    for p, q in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-7)


def test_a_non_finite_loss_skips_the_update_and_leaves_the_weights_alone(tiny_model):
    learner = Learner(tiny_model, settings(), seed=0)
    before = [p.detach().clone() for p in learner.model.parameters()]
    batch = own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0])
    batch.advantages = np.array([float("nan"), 1.0], dtype=np.float32)
    assert learner.update(batch)["faults/skipped_update"] == 1.0
    assert all(torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))
    batch.advantages = np.array([1.0, -1.0], dtype=np.float32)
    assert learner.update(batch)["faults/skipped_update"] == 0.0
    assert not all(torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))


def test_without_a_cap_there_is_no_importance_weight_and_no_metric_for_it(tiny_model):
    learner = Learner(tiny_model, settings(tis_cap=None), seed=0)
    batch = own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0])
    batch.rollout_logprobs = batch.rollout_logprobs + 0.3 * batch.policy_mask
    metrics = learner.update(batch)
    assert metrics["actor/rollout_logprob_diff"] == pytest.approx(0.3, abs=1e-4)
    assert not any(k.startswith("actor/tis_") for k in metrics)


def test_any_token_budget_gives_the_same_loss_and_gradient(tiny_model):
    """Rows are packed by length into forwards of at most the budget's padded tokens (one row
    each at budget 1, all at once at 10**6); the loss weights are the whole batch's, so the
    update's gradient is the same for every packing."""
    replies = ("Go on.", "Practically, you could try a plan and a list.", "I hear you, that sounds hard, tell me more.")
    results, grads = [], []
    for budget in (1, 60, 10**6):
        learner = Learner(tiny_model, settings(max_tokens_per_micro_batch=budget, loss_agg="seq-mean-token-mean"), seed=0)
        results.append(learner.update(own_logprobs(learner, sequences_of(tiny_model, replies), [1.0, -0.5, 0.25])))
        grads.append(torch.cat([p.grad.flatten() for p in learner.model.parameters() if p.grad is not None]))
    assert results[0]["perf/padding_frac"] == 0.0 < results[2]["perf/padding_frac"]
    for other, grad in zip(results[1:], grads[1:], strict=True):
        assert other["actor/pg_loss"] == pytest.approx(results[0]["actor/pg_loss"], rel=1e-5)
        assert results[0]["actor/pg_loss"] == pytest.approx(-0.25, rel=1e-4)
        assert torch.allclose(grad, grads[0], rtol=1e-4, atol=1e-7)


def test_bf16_autocast_keeps_fp32_master_weights_and_scores_close_to_fp32(tiny_model):
    seqs = sequences_of(tiny_model)
    fp32 = Learner(tiny_model, settings(), seed=0)
    bf16 = Learner(tiny_model, settings(precision="bf16"), seed=0)
    batch = own_logprobs(fp32, seqs, [1.0, -1.0])
    mask = torch.from_numpy(batch.policy_mask) > 0
    gap = (bf16.score(batch) - fp32.score(batch))[mask].abs()
    assert 0 < gap.max() < 0.1, "bf16 arithmetic differs from fp32, a little"
    metrics = bf16.update(batch)
    assert math.isfinite(metrics["actor/pg_loss"]) and metrics["faults/skipped_update"] == 0
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())
    moments = [v for state in bf16.optimizer.state.values() for v in state.values() if torch.is_tensor(v) and v.ndim]
    assert moments and all(m.dtype == torch.float32 for m in moments)
    assert sequence_logprob(bf16, seqs[0]) > sequence_logprob(fp32, seqs[0])


def test_activation_checkpointing_recomputes_to_the_same_gradient(tiny_model):
    replies = ("Go on.", "Practically, you could try a plan and a list.")
    grads = []
    for checkpointing in (False, True):
        # Both without the shared prompt forward (checkpointing turns it off): the same arithmetic.
        learner = Learner(tiny_model, settings(activation_checkpointing=checkpointing, shared_prefix=False), seed=0)
        learner.update(own_logprobs(learner, sequences_of(tiny_model, replies), [1.0, -1.0]))
        grads.append(torch.cat([p.grad.flatten() for p in learner.model.parameters() if p.grad is not None]))
    assert learner.model.is_gradient_checkpointing
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=1e-8)


def test_policy_token_logits_are_the_full_forwards_at_those_positions(tiny_model):
    """The output layer runs on policy tokens only: what it gives there is what the model's own
    forward gives, in a batch of rows of two lengths whose prompt tokens get no logits at all."""
    from workers.policy_token_logits import PolicyTokenLogits

    learner = Learner(tiny_model, settings(), seed=0)
    batch = TrainBatch.from_sequences(sequences_of(tiny_model), [1.0, -1.0])
    ids = torch.from_numpy(batch.token_ids)
    attention = torch.from_numpy((np.arange(ids.shape[1])[None, :] < batch.lengths[:, None]).astype(np.int64))
    row, col = torch.from_numpy(batch.policy_mask).nonzero(as_tuple=True)
    with torch.no_grad():
        full = learner.model(input_ids=ids, attention_mask=attention).logits
        ours = PolicyTokenLogits(learner.model)(ids, attention, row, col - 1)
        assert torch.allclose(ours, full[row, col - 1], atol=1e-5)


def test_a_model_whose_logits_are_not_its_output_layer_is_refused(tiny_model, monkeypatch):
    from transformers import Qwen2ForCausalLM

    forward = Qwen2ForCausalLM.forward

    def soft_capped(self, *a, **kw):
        out = forward(self, *a, **kw)
        out.logits = 30.0 * torch.tanh(out.logits / 30.0)
        return out

    monkeypatch.setattr(Qwen2ForCausalLM, "forward", soft_capped)
    with pytest.raises(ValueError, match="soft-capping"):
        Learner(tiny_model, settings(), seed=0)


LORA = LoraConfig(rank=8, alpha=16, target_modules=["q_proj", "v_proj"])


def test_lora_trains_the_adapter_alone_against_its_own_base(tiny_model):
    """The adapter starts as a no-op (PEFT's B = 0), so the first update's KL to the base is 0;
    the update moves the adapter only, and a sync carries the adapter alone."""
    learner = Learner(tiny_model, settings(lora=LORA, kl_coef=0.1, lr=5e-3), seed=0)
    assert learner.reference is None, "no second copy of the model: the anchor is the base, adapter off"
    full = Learner(tiny_model, settings(), seed=0)
    seqs = sequences_of(tiny_model)
    assert sequence_logprob(learner, seqs[0]) == pytest.approx(sequence_logprob(full, seqs[0]), abs=1e-5)
    base = {n: p.detach().clone() for n, p in learner.model.named_parameters() if "lora_" not in n}
    metrics = learner.update(own_logprobs(learner, seqs, [1.0, -1.0]))
    assert metrics["actor/kl"] == pytest.approx(0.0, abs=1e-7)
    assert all(torch.equal(p, base[n]) for n, p in learner.model.named_parameters() if "lora_" not in n)
    assert sequence_logprob(learner, seqs[0]) > sequence_logprob(full, seqs[0])
    snapshot, adapter_bytes = learner.weights()
    assert snapshot.adapter_config is not None and snapshot.adapter_config["r"] == 8
    assert snapshot.tensors and all(".lora_A." in k or ".lora_B." in k for k in snapshot.tensors)
    assert 0 < adapter_bytes < full.weights()[1] / 20


def test_a_lora_checkpoint_is_an_adapter_the_learner_resumes_from(tiny_model, tmp_path):
    from workers.lora_adapter import base_model_dir, is_adapter_dir

    learner = Learner(tiny_model, settings(lora=LORA, lr=5e-3), seed=0)
    seqs = sequences_of(tiny_model)
    learner.update(own_logprobs(learner, seqs, [1.0, -1.0]))
    learner.save(str(tmp_path / "ckpt"))
    assert is_adapter_dir(tmp_path / "ckpt") and base_model_dir(tmp_path / "ckpt") == tiny_model
    assert not (tmp_path / "ckpt" / "model.safetensors").exists(), "the adapter only, not the base again"
    resumed = Learner(str(tmp_path / "ckpt"), settings(lora=LORA, lr=5e-3), seed=0)
    assert resumed.restore(str(tmp_path / "ckpt")) == 1
    assert sequence_logprob(resumed, seqs[0]) == pytest.approx(sequence_logprob(learner, seqs[0]), abs=1e-5)
    with pytest.raises(ValueError, match="train it with policy"):
        Learner(str(tmp_path / "ckpt"), settings(), seed=0)
    with pytest.raises(ValueError, match="merge it first"):
        Learner(tiny_model, settings(lora=LORA, kl_coef=0.1), seed=0, reference_dir=str(tmp_path / "ckpt"))


def test_lora_dropout_trains_but_never_makes_a_score_random(tiny_model):
    learner = Learner(
        tiny_model, settings(lora=LoraConfig(rank=8, alpha=16, target_modules=["q_proj", "v_proj"], dropout=0.5), lr=5e-3), seed=0
    )
    batch = own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0])
    learner.update(batch)
    assert torch.equal(learner.score(batch), learner.score(batch)) and learner.model.training


def two_prompt_groups(model_dir) -> list[TokenSequence]:
    """Two groups of two replies, to prompts of different lengths (the shared prefixes are padded)."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    rows = []
    groups = (("I just need to vent.", ("Go on.", "Tell me more about it.")), ("My boss shouted at me.", ("Ouch.", "A plan?")))
    for opening, replies in groups:
        prompt = tok.encode(opening_segment("Be kind.", opening), add_special_tokens=False)
        for reply in replies:
            ids = prompt + tok.encode(reply, add_special_tokens=False) + [tok.eos_token_id]
            rows.append(TokenSequence(ids, [0] * len(prompt) + [1] * (len(ids) - len(prompt)), [0.0] * len(ids)))
    return rows


@pytest.mark.parametrize("groups", ["one prompt", "two prompts, a KL anchor"])
def test_rows_that_open_with_one_prompt_share_its_forward_for_the_same_update(tiny_model, groups):
    """A group's replies to one prompt: the prompt's forward runs once and its keys and values
    serve every row (`shared_prefix`); log-probs, KL, loss and gradient are each row's own forward's."""
    if groups == "one prompt":
        seqs, kl = sequences_of(tiny_model, ("Go on.", "Practically, you could try a plan.", "I hear you.", "Okay.")), 0.0
    else:
        seqs, kl = two_prompt_groups(tiny_model), 0.1
    scores, results, grads = [], [], []
    for share in (False, True):
        learner = Learner(tiny_model, settings(shared_prefix=share, kl_coef=kl, loss_agg="seq-mean-token-mean"), seed=0)
        batch = own_logprobs(learner, seqs, [1.0, -0.5, 0.25, -0.75])
        learner.model.get_input_embeddings().weight.data.mul_(1.01)  # the policy moves off its KL anchor
        split = learner._micro_batches(batch)[0].split
        assert (split is not None) == share
        assert split is None or len(split.prefix_lengths) == (1 if groups == "one prompt" else 2)
        scores.append(learner.score(batch))
        results.append(learner.update(batch))
        grads.append(torch.cat([p.grad.flatten() for p in learner.model.parameters() if p.grad is not None]))
    assert torch.allclose(scores[1], scores[0], atol=1e-5)
    for key in ("actor/pg_loss", "actor/kl"):
        assert results[1][key] == pytest.approx(results[0][key], rel=1e-4, abs=1e-7)
    assert (results[0]["actor/kl"] > 0) == (kl > 0)
    assert torch.allclose(grads[1], grads[0], rtol=1e-4, atol=1e-7)
    assert grads[0].abs().max() > 1e-3


def test_auto_precision_times_the_first_batch_in_both_and_caches_its_verdict(tiny_model, tmp_path, monkeypatch):
    """On a CPU with native bf16 the first update times its batch's forward and backward in fp32
    and bf16 and keeps the faster; the update itself is the one an fp32 or bf16 learner makes, and
    a second learner of this shape reads the verdict instead of probing."""
    import workers.learner_precision as learner_precision

    monkeypatch.setenv("GOLDILOCKS_CACHE", str(tmp_path))
    monkeypatch.setattr(learner_precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    seqs = sequences_of(tiny_model)
    auto = Learner(tiny_model, settings(precision="auto"), seed=0)
    assert auto.precision_choice() is None and auto.precision == "fp32"
    batch = own_logprobs(auto, seqs, [1.0, -1.0])
    metrics = auto.update(batch)
    choice = auto.precision_choice()
    assert choice is not None and choice.precision == auto.precision and "s in bf16" in choice.reason
    assert metrics["perf/learner_probe_s"] > 0
    same = Learner(tiny_model, settings(precision=choice.precision), seed=0)
    assert same.update(own_logprobs(same, seqs, [1.0, -1.0]))["actor/pg_loss"] == pytest.approx(
        metrics["actor/pg_loss"], abs=1e-6
    )
    for a, b in zip(auto.model.parameters(), same.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), "the probe's passes left no trace in the update"
    again = Learner(tiny_model, settings(precision="auto"), seed=0)
    assert again.precision_choice() == choice
    monkeypatch.setattr(learner_precision, "cpu_flags", lambda: frozenset({"avx2"}))
    assert Learner(tiny_model, settings(precision="auto"), seed=0).precision == "fp32"


def test_a_pinned_precision_survives_a_lost_cache_and_a_faster_fp32(tiny_model, tmp_path, monkeypatch):
    """A resumed run's learner computes in the precision its checkpoint recorded: with the cache
    gone and a verdict saying fp32 is far faster, `auto` picks fp32; pinned bf16 stays bf16 and
    is never probed."""
    import workers.learner_precision as learner_precision

    monkeypatch.setenv("GOLDILOCKS_CACHE", str(tmp_path))
    monkeypatch.setattr(learner_precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    path = Learner(tiny_model, settings(precision="auto"), seed=0).auto_precision.path
    assert path is not None and not path.exists()
    learner_precision.write_probe(path, {"fp32": 0.01, "bf16": 1.0})
    assert Learner(tiny_model, settings(precision="auto"), seed=0).precision == "fp32"
    pinned = Learner(tiny_model, settings(precision="bf16", precision_pinned=True), seed=0)
    assert pinned.precision == "bf16" and "pinned" in pinned.precision_choice().reason
    metrics = pinned.update(own_logprobs(pinned, sequences_of(tiny_model), [1.0, -1.0]))
    assert pinned.precision_choice().precision == "bf16" and "perf/learner_probe_s" not in metrics


def test_the_probe_cache_keys_on_what_changes_an_updates_cost_and_survives_an_unwritable_cache(tiny_model, tmp_path, monkeypatch):
    import workers.learner_precision as learner_precision

    monkeypatch.setenv("GOLDILOCKS_CACHE", str(tmp_path))
    monkeypatch.setattr(learner_precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    paths = {
        Learner(tiny_model, settings(precision="auto", **extra), seed=0).auto_precision.path
        for extra in ({}, {"shared_prefix": False}, {"activation_checkpointing": True}, {"lora": LORA})
    }
    assert len(paths) == 4
    (tmp_path / "probes").write_text("a file where the cache's directory should be")
    learner = Learner(tiny_model, settings(precision="auto"), seed=0)
    learner.update(own_logprobs(learner, sequences_of(tiny_model), [1.0, -1.0]))
    choice = learner.precision_choice()
    assert choice is not None and "not cached" in choice.reason and choice.precision in ("fp32", "bf16")
