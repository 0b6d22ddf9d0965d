"""Token-budget micro-batches: every row once, within the budget, little padding."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from workers.rl.micro_batches import pack_by_tokens, padding_fraction


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
