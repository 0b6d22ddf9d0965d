import math

import pytest
import torch

from workers.rl.losses import kl_k3, masked_token_mean, ppo_clip_loss
from workers.rl.token_logprobs import sequence_batch, token_logprobs_and_entropy


def test_masked_token_mean_weighs_every_token_equally():
    values = torch.tensor([[1.0, 2.0, 100.0], [3.0, 100.0, 100.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert masked_token_mean(values, mask).item() == pytest.approx(2.0)


def test_ppo_clip_hand_computed():
    # ratios e^0 = 1, e^0.5 = 1.6487 (A>0, clipped at 1.28), e^-0.5 = 0.6065 (A<0, clipped at 0.8)
    logp = torch.tensor([[0.0, 0.5, -0.5]])
    old = torch.zeros(1, 3)
    adv = torch.tensor([[1.0, 1.0, -1.0]])
    mask = torch.ones(1, 3)
    out = ppo_clip_loss(logp, old, adv, mask, clip_low=0.2, clip_high=0.28)
    expected = -(1.0 * 1.0 + 1.28 * 1.0 + (-0.8)) / 3
    assert out.pg_loss.item() == pytest.approx(expected, rel=1e-6)
    assert out.clip_frac.item() == pytest.approx(2 / 3)
    assert out.kl.item() == 0.0


def test_clip_higher_lets_positive_tokens_grow_further_than_clip_low():
    logp, old, adv, mask = torch.tensor([[0.3]]), torch.zeros(1, 1), torch.ones(1, 1), torch.ones(1, 1)
    sym = ppo_clip_loss(logp, old, adv, mask, 0.2, 0.2).pg_loss.item()
    asym = ppo_clip_loss(logp, old, adv, mask, 0.2, 0.28).pg_loss.item()
    assert sym == pytest.approx(-1.2) and asym == pytest.approx(-1.28)


def test_gradient_pushes_up_positive_advantage_tokens():
    logp = torch.tensor([[-1.0, -1.0]], requires_grad=True)
    out = ppo_clip_loss(logp, logp.detach(), torch.tensor([[1.0, -1.0]]), torch.ones(1, 2), 0.2, 0.28)
    out.loss.backward()
    assert logp.grad[0, 0] < 0 < logp.grad[0, 1]


def test_k3_kl_hand_computed_and_non_negative():
    logp, ref = torch.tensor([0.0, -1.0]), torch.tensor([-1.0, -1.0])
    r = -1.0
    assert kl_k3(logp, ref).tolist() == pytest.approx([math.exp(r) - r - 1, 0.0])


def test_kl_term_is_added_with_its_coefficient():
    logp, old, adv, mask = torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, 2), torch.ones(1, 2)
    ref = torch.full((1, 2), -1.0)
    out = ppo_clip_loss(logp, old, adv, mask, 0.2, 0.28, ref_logp=ref, kl_coef=0.5)
    assert out.loss.item() == pytest.approx(0.5 * (math.exp(-1) + 1 - 1))


def test_token_logprobs_and_entropy_hand_computed():
    # vocab 2; position 0 logits favour token 1 (log-softmax of [0, ln 3] = [ln .25, ln .75])
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0]]])
    ids = torch.tensor([[0, 1]])
    logp, ent = token_logprobs_and_entropy(logits, ids)
    assert logp[0].tolist() == pytest.approx([0.0, math.log(0.75)])
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert ent[0].tolist() == pytest.approx([0.0, h])


def test_sequence_batch_right_pads():
    ids, mask = sequence_batch([[5, 6, 7], [8]], [[0, 1, 1], [1]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[0, 1, 1], [1, 0, 0]]
