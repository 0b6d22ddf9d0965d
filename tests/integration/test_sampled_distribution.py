"""A rollout samples from the distribution it reports, and that distribution is the learner's
(logits / temperature), whatever the checkpoint's generation_config.json asks for.

A checkpoint's generation config may set a repetition penalty (Qwen2.5-Instruct: 1.05), top-k,
min-p or an n-gram ban. Were any of them applied when sampling, the tokens would come from a
distribution the learner never scores, while the reported log-probs (raw logits / temperature)
would still match the learner's: TIS weights of ~1 and `actor/rollout_logprob_diff` of ~0 would
hide it. So the test checks the draws themselves: this checkpoint's settings ban every token seen
before (an n-gram ban of size 1) and every token outside the top 5; drawn from logits /
temperature, a share of the tokens is both, as many as the learner's probabilities predict.
Each backend runs in its own process (vLLM promises no second engine in one interpreter)."""

import json
import shutil

import pytest
import torch

from tests.support.sampled_logprobs import sample_in_subprocess
from workers.backends import BACKENDS
from workers.chat_format import opening_segment
from workers.rl.token_logprobs import token_logprobs

pytestmark = pytest.mark.slow

TOP_K = 5
OPINIONATED = {
    "repetition_penalty": 1.3,
    "top_k": TOP_K,
    "min_p": 0.2,
    "no_repeat_ngram_size": 1,
    "temperature": 0.2,
    "top_p": 0.5,
}
"""What a checkpoint's generation_config.json may say; each of these alone changes what is sampled."""
TEMPERATURE = 0.8


@pytest.fixture(scope="module")
def opinionated_model(tiny_model, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("opinionated") / "model"
    shutil.copytree(tiny_model, out)
    config = json.loads((out / "generation_config.json").read_text())
    (out / "generation_config.json").write_text(json.dumps(config | OPINIONATED))
    return str(out)


@pytest.fixture(scope="module")
def prompts(tiny_model) -> list[list[int]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    texts = ["I just need to vent for a while.", "What should I actually do now?", "I feel torn.", "Nobody listens."]
    return [tok.encode(opening_segment("Be kind.", t), add_special_tokens=False) for t in texts]


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


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_rollout_samples_the_learners_distribution_and_reports_it(backend, opinionated_model, prompts):
    generations = sample_in_subprocess(backend, opinionated_model, prompts, TEMPERATURE, 40)
    banned_seen = banned_expected = 0.0
    for prompt, g in zip(prompts, generations, strict=True):
        tokens = g["token_ids"]
        assert len(tokens) == len(g["logprobs"]) > 0
        picked, probs = learner_view(opinionated_model, prompt, tokens)
        gap = (torch.tensor(g["logprobs"]) - picked).abs().max().item()
        assert gap < 1e-4, f"{backend}: reported log-probs differ from the learner's by up to {gap:.3g} nats"
        for t, token in enumerate(tokens):
            seen = torch.zeros(probs.shape[-1], dtype=torch.bool)
            seen[torch.tensor(prompt + tokens[:t])] = True
            banned = seen.clone()
            banned[probs[t].argsort(descending=True)[TOP_K:]] = True
            banned_seen += float(banned[token])
            banned_expected += probs[t][banned].sum().item()
    assert banned_expected >= 20, "too few draws for the test to tell the distributions apart"
    assert banned_seen >= 0.5 * banned_expected, (
        f"{backend}: {banned_seen:.0f} draws of tokens the checkpoint's settings ban, where logits / temperature "
        f"predicts {banned_expected:.0f}: it sampled another distribution than the one it reports"
    )
