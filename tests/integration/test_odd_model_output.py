"""Whatever token ids the policy samples - none, only special tokens, bytes that are not UTF-8 on
their own, as many as the cap allows - the rollout worker turns them into finished episodes
(a format violation counted under `think`), never an exception. The real tiny tokenizer decodes;
the generation backend is replaced by one that returns the generated ids."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.config import load_config
from orchestrator.step_batch import sample_requests
from workers.backends.base import Generation
from workers.rollout_worker import FORMAT_VIOLATION, RolloutWorker

pytestmark = pytest.mark.slow


class ScriptedBackend:
    version = 0

    def __init__(self, replies):
        self.replies = replies

    def generate(self, prompts, sampling):
        capped = [self.replies[i % len(self.replies)][: sampling.max_new_tokens] for i in range(len(prompts))]
        return [Generation(list(ids), [0.0] * len(ids), finished=False) for ids in capped]


@pytest.fixture(scope="module", params=["plain", "think"])
def worker(request, tiny_model):
    import random

    cfg = load_config(
        None, [f"policy.template={request.param}", "rollout.backend=hf", "rollout.group_size=2", "rollout.groups_per_step=2"]
    )
    w = RolloutWorker(tiny_model, cfg.rollout_settings(), seed=0)
    w.requests = sample_requests(cfg, random.Random(0), 0.5, 0)
    w.template = request.param
    return w


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_sampled_ids_become_episodes(worker, data):
    vocab = worker.tokenizer.vocab_size + len(worker.tokenizer.added_tokens_encoder)
    special = sorted(set(worker.tokenizer.all_special_ids))
    ids = st.one_of(
        st.just([]),
        st.lists(st.sampled_from(special), min_size=1, max_size=8),
        st.lists(st.integers(0, vocab - 1), max_size=60),
        st.lists(st.integers(0, 255), min_size=1, max_size=20),  # byte-level pieces: partial UTF-8
    )
    replies = data.draw(st.lists(ids, min_size=1, max_size=4))
    worker.backend = ScriptedBackend(replies)
    result = worker.rollout(worker.requests, expected_version=0)
    assert len(result.episodes) == len(worker.requests)
    for e in result.episodes:
        assert 0.0 <= e.reward <= 1.0
        assert all(len(s.token_ids) == len(s.policy_mask) == len(s.logprobs) and any(s.policy_mask) for s in e.sequences)
        assert all(isinstance(text, str) for _, text in e.transcript)
        if FORMAT_VIOLATION in e.labels:
            assert worker.template == "think" and e.reward == 0.0
