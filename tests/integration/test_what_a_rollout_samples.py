"""What a rollout samples, on a checkpoint that would lead it astray two ways.

Its token files are a base checkpoint's: eos is <|endoftext|> alone, in the tokenizer and both
configs, so nothing in them says that <|im_end|> ends a turn. goldilocks renders ChatML, so a
reply must still stop there, or it writes on into invented user turns that would be trained as
policy tokens and shown to the simulator; a reply that writes <|im_start|> (it skipped its
<|im_end|>) or stops on its <|endoftext|> is cut before that token and closed with <|im_end|>.

Its generation_config.json asks for a repetition penalty (Qwen2.5-Instruct's sets 1.05), top-k,
min-p and an n-gram ban. Were any of them applied when sampling, the tokens would come from a
distribution the learner never scores, while the reported log-probs (raw logits / temperature)
would still match the learner's: TIS weights of ~1 and `actor/rollout_logprob_diff` of ~0 would
hide it. So the draws themselves are checked: the settings ban every token seen before and every
token outside the top 5; drawn from logits / temperature, a share of the tokens is either, as
many as the learner's probabilities predict.

Each backend generates in its own process (vLLM promises no second engine in one interpreter)."""

import json

import pytest
import torch
from transformers import AutoTokenizer

from tests.support.sampled_logprobs import sample_in_subprocess
from workers.backends import BACKENDS, SamplingConfig
from workers.chat_format import END_OF_TEXT, IM_END, IM_START, opening_segment
from workers.env.scenarios.english_scenarios import english_split
from workers.rl.token_logprobs import token_logprobs
from workers.rollout_worker import RolloutSettings, RolloutWorker
from workers.types import EpisodeRequest

pytestmark = pytest.mark.slow

TOP_K = 5
MISLEADING = {
    "repetition_penalty": 1.3,
    "top_k": TOP_K,
    "min_p": 0.2,
    "no_repeat_ngram_size": 1,
    "temperature": 0.2,
    "top_p": 0.5,
}
"""What a checkpoint's generation_config.json may say; each of these alone changes what is sampled."""
TEMPERATURE = 0.8
TEXTS = ["I just need to vent.", "What should I do?", "I feel torn.", "Nobody listens to me.", "Help me decide."]


@pytest.fixture(scope="module")
def checkpoint(tiny_model, tmp_path_factory) -> str:
    import shutil

    from workers.policy_model.bootstrap import ensure_model

    out = tmp_path_factory.mktemp("misleading") / "model"
    shutil.copytree(ensure_model("tiny", 0, log=lambda m: None, layout="base"), out)
    config = json.loads((out / "generation_config.json").read_text())
    (out / "generation_config.json").write_text(json.dumps(config | MISLEADING))
    return str(out)


@pytest.fixture(scope="module")
def tokenizer(checkpoint):
    tok = AutoTokenizer.from_pretrained(checkpoint)
    assert tok.eos_token == END_OF_TEXT
    return tok


@pytest.fixture(scope="module")
def ids(tokenizer) -> dict[str, int]:
    """The ids of ChatML's markers and of the checkpoint's eos."""
    return {name: tokenizer.convert_tokens_to_ids(name) for name in (IM_START, IM_END, END_OF_TEXT)}


@pytest.fixture(scope="module")
def prompts(tokenizer) -> list[list[int]]:
    return [tokenizer.encode(opening_segment("Be kind.", t), add_special_tokens=False) for t in TEXTS]


@pytest.fixture(scope="module", params=BACKENDS)
def sampled(request, checkpoint, prompts) -> tuple[str, list[dict]]:
    return request.param, sample_in_subprocess(request.param, checkpoint, prompts, TEMPERATURE, 48)


def learner_view(model_dir: str, prompt: list[int], tokens: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The learner's log-probs of the sampled tokens, and its whole next-token distribution at
    each of their positions, at the sampling temperature."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = torch.tensor([prompt + tokens])
    with torch.no_grad():
        logits = model(ids).logits
    picked = token_logprobs(logits, ids, TEMPERATURE)[0, len(prompt) :]
    probs = torch.softmax(logits[0, len(prompt) - 1 : -1].float() / TEMPERATURE, dim=-1)
    return picked, probs


def test_a_rollout_samples_the_learners_distribution_and_reports_it(sampled, checkpoint, prompts):
    backend, generations = sampled
    banned_seen = banned_expected = 0.0
    for prompt, g in zip(prompts, generations, strict=True):
        tokens = g["token_ids"]
        assert len(tokens) == len(g["logprobs"]) > 0
        picked, probs = learner_view(checkpoint, prompt, tokens)
        gap = (torch.tensor(g["logprobs"]) - picked).abs().max().item()
        assert gap < 1e-4, f"{backend}: reported log-probs differ from the learner's by up to {gap:.3g} nats"
        for t, token in enumerate(tokens):
            banned = torch.zeros(probs.shape[-1], dtype=torch.bool)
            banned[torch.tensor(prompt + tokens[:t])] = True
            banned[probs[t].argsort(descending=True)[TOP_K:]] = True
            banned_seen += float(banned[token])
            banned_expected += probs[t][banned].sum().item()
    assert banned_expected >= 20, "too few draws for the test to tell the distributions apart"
    assert banned_seen >= 0.5 * banned_expected, (
        f"{backend}: {banned_seen:.0f} draws of tokens the checkpoint's settings ban, where logits / temperature "
        f"predicts {banned_expected:.0f}: it sampled another distribution than the one it reports"
    )


def test_a_reply_stops_at_the_end_of_its_turn(sampled, tokenizer, ids):
    backend, generations = sampled
    stops = set(ids.values())
    assert any(g["finished"] and g["token_ids"][-1] == ids[IM_END] for g in generations)
    for g in generations:
        within = g["token_ids"][:-1] if g["finished"] else g["token_ids"]
        assert not stops & set(within), f"{backend} wrote past the end of its turn: {tokenizer.decode(g['token_ids'])!r}"
        assert not g["finished"] or g["token_ids"][-1] in stops


def test_no_invented_user_turn_is_trained_and_a_cut_reply_is_closed_with_the_turns_end(checkpoint, ids):
    settings = RolloutSettings(
        backend="hf",
        max_model_len=512,
        dtype="float32",
        sampling=SamplingConfig(max_new_tokens=24),
        simulator="rule",
        max_turns=3,
        pass_threshold=70.0,
    )
    worker = RolloutWorker(checkpoint, settings, seed=0)
    scenarios = english_split("train")[:4]
    requests = [EpisodeRequest(s, 0.2, g, seed=g) for g, s in enumerate(scenarios) for _ in range(2)]
    replies = cut = 0
    for episode in worker.rollout(requests, worker.version).episodes:
        for seq in episode.sequences:
            assert not any(t == ids[IM_START] and m for t, m in zip(seq.token_ids, seq.policy_mask, strict=True))
            for start, end in runs(seq.policy_mask):
                replies += 1
                assert seq.token_ids[end - 1] != ids[END_OF_TEXT]  # a base checkpoint's stop is never trained on
                if seq.token_ids[end - 1] != ids[IM_END]:
                    cut += 1  # cut short, or stopped on <|endoftext|>: closed by the turn's end, a context token
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
