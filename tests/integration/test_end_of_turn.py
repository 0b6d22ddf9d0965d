"""goldilocks renders ChatML, so <|im_end|> ends every agent turn, whatever the checkpoint names as
its eos. On a base checkpoint (eos <|endoftext|> alone, in the tokenizer and both configs) a reply
that did not stop there would write on into invented user turns, which would be trained as policy
tokens and shown to the simulator. A reply also stops on <|im_start|> (a model that skipped its
<|im_end|> and opened a turn itself) and is cut before it."""

import pytest
from transformers import AutoTokenizer

from tests.support.sampled_logprobs import sample_in_subprocess
from workers.backends import BACKENDS, SamplingConfig
from workers.chat_format import END_OF_TEXT, IM_END, IM_START, opening_segment
from workers.env.scenarios.english_scenarios import english_split
from workers.rollout_worker import RolloutSettings, RolloutWorker
from workers.types import EpisodeRequest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_model(model_cache) -> str:
    from workers.policy_model.bootstrap import ensure_model

    return str(ensure_model("tiny", 0, log=lambda m: None, layout="base"))


@pytest.fixture(scope="module")
def ids(base_model) -> dict[str, int]:
    tok = AutoTokenizer.from_pretrained(base_model)
    assert tok.eos_token == END_OF_TEXT
    return {name: tok.convert_tokens_to_ids(name) for name in (IM_START, IM_END, END_OF_TEXT)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reply_stops_at_the_end_of_its_turn_on_every_backend(backend, base_model, ids):
    tok = AutoTokenizer.from_pretrained(base_model)
    texts = ["I just need to vent.", "What should I do?", "I feel torn.", "Nobody listens to me.", "Help me decide."]
    prompts = [tok.encode(opening_segment("Be kind.", t), add_special_tokens=False) for t in texts]
    generations = sample_in_subprocess(backend, base_model, prompts, 1.0, 48)
    stops = {ids[IM_END], ids[IM_START], ids[END_OF_TEXT]}
    assert any(g["finished"] and g["token_ids"][-1] == ids[IM_END] for g in generations)
    for g in generations:
        within = g["token_ids"][:-1] if g["finished"] else g["token_ids"]
        assert not stops & set(within), f"{backend} wrote past the end of its turn: {tok.decode(g['token_ids'])!r}"
        assert not g["finished"] or g["token_ids"][-1] in stops


def test_no_invented_user_turn_is_trained_and_a_cut_reply_is_closed_with_the_turns_end(base_model, ids):
    settings = RolloutSettings(
        backend="hf",
        max_model_len=512,
        dtype="float32",
        sampling=SamplingConfig(max_new_tokens=24),
        simulator="rule",
        max_turns=3,
        pass_threshold=70.0,
    )
    worker = RolloutWorker(base_model, settings, seed=0)
    scenarios = english_split("train")[:4]
    requests = [EpisodeRequest(s, 0.2, g, seed=g) for g, s in enumerate(scenarios) for _ in range(2)]
    episodes = worker.rollout(requests, worker.version).episodes
    replies = cut = 0
    for episode in episodes:
        for seq in episode.sequences:
            policy = [t for t, m in zip(seq.token_ids, seq.policy_mask, strict=True) if m]
            assert ids[IM_START] not in policy
            for start, end in runs(seq.policy_mask):
                replies += 1
                if seq.token_ids[end - 1] not in (ids[IM_END], ids[END_OF_TEXT]):
                    cut += 1  # cut at max_new_tokens: closed by the turn's end, a context token
                    assert seq.token_ids[end] == ids[IM_END] and seq.policy_mask[end] == 0
                    assert ids[IM_END] not in seq.token_ids[start:end]
    assert replies >= 8 and replies > cut


def runs(mask: list[int]) -> list[tuple[int, int]]:
    """[start, end) of every run of policy tokens."""
    found, start = [], None
    for i, m in enumerate([*mask, 0]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            found.append((start, i))
            start = None
    return found
