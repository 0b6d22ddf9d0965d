import math

import pytest
import torch

from workers.rl.advantages import drgrpo_advantages, grpo_advantages, informative_group_fraction


def test_grpo_hand_computed():
    # group [1, 0, 0, 0]: mean 0.25, unbiased std sqrt(0.75/3 * ... ) = 0.5
    adv = grpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]]), eps=0.0)
    assert adv.tolist()[0] == pytest.approx([1.5, -0.5, -0.5, -0.5])


def test_grpo_equal_rewards_teach_nothing():
    adv = grpo_advantages(torch.tensor([[0.7, 0.7, 0.7], [0.0, 0.0, 0.0]]))
    assert torch.count_nonzero(adv) == 0


def test_grpo_groups_are_normalised_independently():
    adv = grpo_advantages(torch.tensor([[0.0, 1.0], [10.0, 30.0]]), eps=0.0)
    s = 1 / math.sqrt(2)
    assert adv.tolist() == [pytest.approx([-s, s]), pytest.approx([-s, s])]


def test_drgrpo_only_centres():
    assert drgrpo_advantages(torch.tensor([[1.0, 0.0, 0.5]])).tolist()[0] == pytest.approx([0.5, -0.5, 0.0])


@pytest.mark.parametrize("shape", [(4,), (3, 1)])
def test_bad_shapes_are_rejected(shape):
    with pytest.raises(ValueError, match="num_groups"):
        grpo_advantages(torch.zeros(shape))


def test_informative_fraction_counts_mixed_groups_only():
    passed = torch.tensor([[1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 1, 0]], dtype=torch.bool)
    assert informative_group_fraction(passed) == 0.5


def test_informative_fraction_matches_formula_in_expectation():
    # P(informative) = 1 - p^G - (1-p)^G; G=4, p=0.5 -> 0.875
    gen = torch.Generator().manual_seed(0)
    passed = torch.rand((20000, 4), generator=gen) < 0.5
    assert informative_group_fraction(passed) == pytest.approx(0.875, abs=0.01)


@pytest.mark.parametrize("estimator", [grpo_advantages, drgrpo_advantages])
@pytest.mark.parametrize("group_size", [2, 4, 8, 16, 32])
def test_tied_groups_get_exactly_zero_at_every_reward_value(estimator, group_size):
    """float32 made a group of identical rewards' mean an ulp off (0.056 at G = 8, r = 0.7)."""
    values = torch.arange(0, 101, dtype=torch.float32) / 100
    rewards = values[:, None].expand(-1, group_size).contiguous()
    adv = estimator(rewards)
    assert adv.dtype == torch.float32 and torch.count_nonzero(adv) == 0


def test_a_group_with_one_different_reward_is_not_zeroed():
    adv = grpo_advantages(torch.tensor([[0.7] * 7 + [0.71]]))
    assert adv[0, -1] > 0 and (adv[0, :-1] < 0).all()


def test_zero_std_fraction_counts_tied_groups():
    from workers.rl.advantages import zero_std_fraction

    assert zero_std_fraction(torch.tensor([[0.5, 0.5], [0.0, 1.0], [0.3, 0.3], [1.0, 0.9]])) == 0.5
