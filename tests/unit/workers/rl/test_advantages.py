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
