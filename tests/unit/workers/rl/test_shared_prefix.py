import torch

from workers.rl.shared_prefix import plan_prefixes


def rows(*specs: tuple[list[int], list[int]]):
    """(prompt, reply) token lists -> right-padded ids, lengths and policy mask."""
    width = max(len(p) + len(r) for p, r in specs)
    ids = torch.zeros((len(specs), width), dtype=torch.long)
    policy = torch.zeros((len(specs), width), dtype=torch.bool)
    for i, (prompt, reply) in enumerate(specs):
        ids[i, : len(prompt) + len(reply)] = torch.tensor(prompt + reply)
        policy[i, len(prompt) : len(prompt) + len(reply)] = True
    return ids, torch.tensor([len(p) + len(r) for p, r in specs]), policy


def test_rows_with_one_prompt_share_it_up_to_the_token_before_their_replies():
    prompt = [5, 6, 7, 8, 9, 10]
    ids, lengths, policy = rows((prompt, [1, 2]), (prompt, [3]), (prompt, [4, 4, 4]))
    split = plan_prefixes(ids, lengths, policy)
    assert split is not None
    assert split.prefix_ids.tolist() == [[5, 6, 7, 8, 9]]
    assert split.owner.tolist() == [0, 0, 0]
    assert split.suffix_lengths.tolist() == [3, 2, 4]
    assert split.suffix_ids.tolist() == [[10, 1, 2, 0], [10, 3, 0, 0], [10, 4, 4, 4]]
    assert split.offsets().tolist() == [5, 5, 5]


def test_prompts_of_different_lengths_are_padded_and_each_row_keeps_its_own():
    a, b = [5, 6, 7, 8, 9, 10, 11], [5, 6, 7]
    ids, lengths, policy = rows((a, [1]), (b, [2, 2]), (a, [3]), (b, [4]))
    split = plan_prefixes(ids, lengths, policy)
    assert split is not None
    assert split.prefix_lengths.tolist() == [6, 2]
    assert split.prefix_ids.tolist() == [[5, 6, 7, 8, 9, 10], [5, 6, 0, 0, 0, 0]]
    assert split.owner.tolist() == [0, 1, 0, 1]
    for r in range(4):
        start, n = int(split.offsets()[r]), int(split.suffix_lengths[r])
        assert split.suffix_ids[r, :n].tolist() == ids[r, start : start + n].tolist()
        assert split.suffix_ids[r, n:].eq(0).all()


def test_no_split_where_nothing_is_shared_or_it_would_not_save_tokens():
    ids, lengths, policy = rows(([5, 6, 7], [1]), ([8, 9, 10], [2]))
    assert plan_prefixes(ids, lengths, policy) is None, "no two rows share a prompt"
    ids, lengths, policy = rows(([5, 6], [1, 1, 1, 1, 1, 1]), ([5, 6], [2, 2, 2, 2, 2, 2]))
    assert plan_prefixes(ids, lengths, policy) is None, "a one-token prefix saves 1 of 16 padded tokens, under MIN_SAVING"
    ids, lengths, policy = rows(([5], [1, 2]), ([5], [1, 3]))
    assert plan_prefixes(ids, lengths, policy) is None, "the reply starts at column 1: no prefix before it"
