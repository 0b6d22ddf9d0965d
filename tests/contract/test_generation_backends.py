"""Every generation backend keeps the same contract (the driver never knows which it has)."""

import pytest
import torch

from workers.backends import BACKENDS, SamplingConfig
from workers.chat_format import opening_segment

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("vllm_worker")]  # the in-process engine, once under pytest -n


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tiny_model):
    if request.param == "vllm":
        return request.getfixturevalue("vllm_worker").backend
    from workers.backends.hf_backend import HfBackend

    return HfBackend(tiny_model, max_model_len=512, dtype="float32", seed=0)


@pytest.fixture(scope="module")
def prompts(tiny_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    texts = ["I just need to vent for a while.", "What should I actually do now?", "I feel torn."]
    return [tok.encode(opening_segment("Be kind.", t), add_special_tokens=False) for t in texts]


def test_one_generation_per_prompt_with_a_logprob_per_token(backend, prompts):
    out = backend.generate(prompts, SamplingConfig(max_new_tokens=24))
    assert len(out) == len(prompts)
    for g in out:
        assert 1 <= len(g.token_ids) <= 24 and len(g.logprobs) == len(g.token_ids)
        assert all(lp <= 1e-6 for lp in g.logprobs)
        assert g.finished == (g.token_ids[-1] in backend.stop_ids)


def test_ignore_eos_generates_exactly_max_new_tokens(backend, prompts):
    out = backend.generate(prompts, SamplingConfig(max_new_tokens=16, ignore_eos=True))
    assert all(len(g.token_ids) == 16 for g in out)


def test_update_weights_sets_the_version_and_changes_the_policy(backend, prompts, tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["lm_head.weight"] = state["model.embed_tokens.weight"]
    sampling = SamplingConfig(max_new_tokens=8, temperature=1.0)
    backend.update_weights(state, 7)
    assert backend.version == 7
    before = backend.generate(prompts[:1], sampling)[0]
    generator = torch.Generator().manual_seed(0)
    noisy = {k: v + 0.5 * torch.randn(v.shape, generator=generator) for k, v in state.items()}
    noisy["lm_head.weight"] = noisy["model.embed_tokens.weight"]
    backend.update_weights(noisy, 8)
    after = backend.generate(prompts[:1], sampling)[0]
    assert backend.version == 8
    assert before.logprobs != after.logprobs
    backend.update_weights(state, 9)


def test_a_sync_that_names_other_tensors_is_refused_before_anything_loads(backend, tiny_model):
    """vLLM only warns about tensors it was not sent, and a non-strict load skips unknown ones:
    either would bump the version of a policy that did not change."""
    from transformers import AutoModelForCausalLM

    from workers.backends.model_files import WeightSyncError

    state = AutoModelForCausalLM.from_pretrained(tiny_model).state_dict()
    held = backend.version
    for broken in ({k.replace("model.", "transformer."): v for k, v in state.items()}, dict(list(state.items())[:-3])):
        with pytest.raises(WeightSyncError, match="weight sync refused"):
            backend.update_weights(broken, held + 1)
        assert backend.version == held
