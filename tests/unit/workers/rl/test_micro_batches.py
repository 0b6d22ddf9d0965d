"""Token-budget micro-batches: every row once, within the budget, little padding."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from workers.rl.micro_batches import deal_to_ranks, pack_by_tokens, padding_fraction


@given(st.lists(st.integers(1, 300), min_size=1, max_size=80), st.integers(1, 2000))
def test_every_row_lands_in_one_micro_batch_within_the_budget(lengths, budget):
    lengths = np.array(lengths)
    groups = pack_by_tokens(lengths, budget)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths)))
    for g in groups:
        assert len(g) * lengths[g].max() <= budget or len(g) == 1


def test_sorted_packing_pads_little_and_a_row_count_pads_much():
    rng = np.random.default_rng(0)
    lengths = rng.integers(40, 400, size=96)
    packed = padding_fraction(lengths, pack_by_tokens(lengths, 4096))
    by_count = padding_fraction(lengths, [np.arange(i, i + 32) for i in range(0, 96, 32)])
    assert packed < 0.15 < 0.3 < by_count


@given(st.lists(st.integers(1, 300), min_size=1, max_size=60), st.integers(1, 2000), st.integers(1, 5))
def test_ranks_get_the_same_number_of_forwards_and_every_row_once(lengths, budget, world):
    """A sharded forward is a collective: a rank with one forward fewer would leave the others
    waiting. Empty shares appear only where no group had two rows left to split."""
    lengths = np.array(lengths)
    dealt = deal_to_ranks(pack_by_tokens(lengths, budget), lengths, world)
    assert len(dealt) == world and len({len(share) for share in dealt}) == 1
    groups = [g for share in dealt for g in share]
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths)))
    if any(len(g) == 0 for g in groups):
        assert all(len(g) <= 1 for g in groups)


def test_dealing_balances_the_ranks_padded_tokens():
    rng = np.random.default_rng(0)
    lengths = rng.integers(40, 400, size=96)
    dealt = deal_to_ranks(pack_by_tokens(lengths, 2048), lengths, 2)
    padded = [sum(len(g) * int(lengths[g].max()) for g in share) for share in dealt]
    assert max(padded) < 1.2 * min(padded)
