import math

import pytest
import torch

from workers.rl.losses import (
    KL_LIMIT,
    LOSS_AGGREGATIONS,
    kl_k3,
    ppo_clip_loss,
    token_weights,
    truncated_is_weight,
)
from workers.rl.token_logprobs import (
    attention_from_lengths,
    next_token_entropy,
    next_token_logprobs,
    sequence_batch,
    token_logprobs,
)

ONES = torch.ones(1, 3)


def weights_of(mask: torch.Tensor) -> torch.Tensor:
    return token_weights(mask, torch.arange(mask.size(0)), "token-mean", 1.0)


def test_token_mean_weighs_every_token_equally():
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.bool)
    assert torch.allclose(weights_of(mask), torch.tensor([[1 / 3, 1 / 3, 0], [1 / 3, 0, 0]]))


def test_seq_mean_token_mean_averages_each_episode_then_the_episodes():
    """Rows 0 and 1 are one episode (two `think` replies, 3 tokens in all); row 2 is another."""
    mask = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=torch.bool)
    w = token_weights(mask, torch.tensor([0, 0, 1]), "seq-mean-token-mean", 1.0)
    assert torch.allclose(w, torch.tensor([[1 / 6, 1 / 6, 0], [1 / 6, 0, 0], [1 / 6, 1 / 6, 1 / 6]]))
    assert w.sum().item() == pytest.approx(1.0)


def test_seq_mean_token_sum_norm_divides_by_one_constant():
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    w = token_weights(mask, torch.tensor([0, 1]), "seq-mean-token-sum-norm", 10.0)
    assert torch.allclose(w, torch.tensor([[0.05, 0.05, 0], [0.05, 0.05, 0.05]]))


def test_unknown_aggregation_is_named():
    with pytest.raises(ValueError, match="loss_agg"):
        token_weights(torch.ones(1, 2, dtype=torch.bool), torch.zeros(1, dtype=torch.long), "mean", 1.0)
    assert set(LOSS_AGGREGATIONS) == {"token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"}


def test_ppo_clip_hand_computed():
    # ratios e^0 = 1, e^0.5 = 1.6487 (A>0, clipped at 1.28), e^-0.5 = 0.6065 (A<0, clipped at 0.8)
    logp = torch.tensor([[0.0, 0.5, -0.5]])
    adv = torch.tensor([[1.0, 1.0, -1.0]])
    out = ppo_clip_loss(logp, torch.zeros(1, 3), adv, ONES / 3, clip_low=0.2, clip_high=0.28)
    assert out.pg_loss == pytest.approx(-(1.0 * 1.0 + 1.28 * 1.0 + (-0.8)) / 3, rel=1e-6)
    assert out.clipped == 2 and out.dual_clipped == 0 and out.kl_sum == 0.0


def test_clip_higher_lets_positive_tokens_grow_further_than_clip_low():
    logp, old, adv, w = torch.tensor([[0.3]]), torch.zeros(1, 1), torch.ones(1, 1), torch.ones(1, 1)
    sym = ppo_clip_loss(logp, old, adv, w, 0.2, 0.2).pg_loss
    asym = ppo_clip_loss(logp, old, adv, w, 0.2, 0.28).pg_loss
    assert sym == pytest.approx(-1.2) and asym == pytest.approx(-1.28)


def test_dual_clip_caps_a_negative_advantage_tokens_loss():
    """ratio e^2 = 7.39 with A = -1: plain PPO's loss is 7.39, the dual clip caps it at 3."""
    logp = torch.tensor([[2.0]], requires_grad=True)
    out = ppo_clip_loss(logp, torch.zeros(1, 1), -torch.ones(1, 1), torch.ones(1, 1), 0.2, 0.28, clip_ratio_c=3.0)
    assert out.pg_loss == pytest.approx(3.0) and out.dual_clipped == 1
    out.loss.backward()
    assert logp.grad.item() == 0.0
    plain = ppo_clip_loss(logp.detach(), torch.zeros(1, 1), -torch.ones(1, 1), torch.ones(1, 1), 0.2, 0.28, 1e9)
    assert plain.pg_loss == pytest.approx(math.exp(2.0), rel=1e-6)


def test_a_huge_log_ratio_keeps_the_loss_and_gradient_finite():
    logp = torch.tensor([[500.0, -500.0]], requires_grad=True)
    adv = torch.tensor([[-1.0, 1.0]])
    ref = torch.tensor([[-500.0, 500.0]])
    out = ppo_clip_loss(logp, torch.zeros(1, 2), adv, torch.ones(1, 2), 0.2, 0.28, ref_logp=ref, kl_coef=1.0)
    out.loss.backward()
    assert math.isfinite(out.loss.item()) and torch.isfinite(logp.grad).all()


def test_gradient_pushes_up_positive_advantage_tokens():
    logp = torch.tensor([[-1.0, -1.0]], requires_grad=True)
    out = ppo_clip_loss(logp, logp.detach(), torch.tensor([[1.0, -1.0]]), torch.ones(1, 2), 0.2, 0.28)
    out.loss.backward()
    assert logp.grad[0, 0] < 0 < logp.grad[0, 1]


def test_importance_weight_scales_the_surrogate_and_is_truncated():
    old = torch.tensor([[-1.0, -1.0, -1.0]])
    rollout = torch.tensor([[-1.5, -0.5, -3.0]])
    w = truncated_is_weight(old, rollout, cap=2.0)
    assert torch.allclose(w, torch.tensor([[math.exp(0.5), math.exp(-0.5), 2.0]]))
    logp = old.clone().requires_grad_(True)
    out = ppo_clip_loss(logp, old, torch.ones(1, 3), ONES, 0.2, 0.28, is_weight=w)
    out.loss.backward()
    assert torch.allclose(logp.grad, -w)


def test_k3_kl_hand_computed_non_negative_and_capped():
    logp, ref = torch.tensor([0.0, -1.0, 0.0]), torch.tensor([-1.0, -1.0, 30.0])
    r = -1.0
    assert kl_k3(logp, ref).tolist() == pytest.approx([math.exp(r) - r - 1, 0.0, KL_LIMIT])


def test_kl_term_is_added_with_its_coefficient():
    logp, old, adv, w = torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, 2), torch.full((1, 2), 0.5)
    ref = torch.full((1, 2), -1.0)
    out = ppo_clip_loss(logp, old, adv, w, 0.2, 0.28, ref_logp=ref, kl_coef=0.5)
    assert out.loss.item() == pytest.approx(0.5 * math.exp(-1))
    assert out.kl_sum == pytest.approx(2 * math.exp(-1))


def test_token_logprobs_and_entropy_hand_computed():
    # vocab 2; position 0 logits favour token 1 (log-softmax of [0, ln 3] = [ln .25, ln .75])
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0]]], requires_grad=True)
    ids = torch.tensor([[0, 1]])
    assert token_logprobs(logits, ids)[0].tolist() == pytest.approx([0.0, math.log(0.75)])
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    entropy = next_token_entropy(logits[0], 1.0)
    assert entropy.tolist() == pytest.approx([h, math.log(2.0)]) and not entropy.requires_grad
    flat = next_token_logprobs(logits[0, :1], ids[0, 1:])
    assert flat.tolist() == pytest.approx([math.log(0.75)]) and flat.requires_grad


def test_token_logprobs_are_those_of_the_temperature_scaled_distribution():
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0]]])
    ids = torch.tensor([[0, 1]])
    t = 0.5  # softmax([0, 2 ln 3]) = [1/10, 9/10]
    assert token_logprobs(logits, ids, t)[0, 1].item() == pytest.approx(math.log(0.9))


def test_attention_comes_from_lengths_not_from_token_values():
    assert attention_from_lengths(torch.tensor([3, 1]), 4).tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]


def test_sequence_batch_right_pads():
    ids, mask = sequence_batch([[5, 6, 7], [8]], [[0, 1, 1], [1]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[0, 1, 1], [1, 0, 0]]
