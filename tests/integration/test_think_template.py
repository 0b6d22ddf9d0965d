"""The `think` template through a real rollout: the tiny policy was never taught <think>, so every
reply breaks the format, scores 0 and is counted, and the simulator never sees it."""

import pytest

from orchestrator.config import load_config
from orchestrator.step_batch import score
from orchestrator.step_metrics import batch_metrics
from workers.backends import SamplingConfig
from workers.env.scenarios.scenario_bank import load_scenarios
from workers.rollout_worker import FORMAT_VIOLATION, RolloutSettings, RolloutWorker
from workers.types import EpisodeRequest

pytestmark = pytest.mark.slow


def test_format_violations_end_the_dialogue_with_reward_zero(tiny_model):
    settings = RolloutSettings("hf", 512, "float32", SamplingConfig(max_new_tokens=24), "rule", 3, 70.0, template="think")
    worker = RolloutWorker(tiny_model, settings, seed=0)
    requests = [EpisodeRequest(s, 0.2, g, seed=g) for g, s in enumerate(load_scenarios("en", "train")[:4]) for _ in range(2)]
    episodes = worker.rollout(requests, 0).episodes
    assert all(e.format_violation and e.reward == 0 and e.labels == [FORMAT_VIOLATION] for e in episodes)
    assert all(len(e.transcript) == 2 and e.transcript[1][0] == "agent" for e in episodes)
    assert all(len(e.sequences) == 1 and e.response_tokens > 0 for e in episodes)
    prompt = worker.tokenizer.decode(episodes[0].sequences[0].token_ids)
    assert "<think></think>" in prompt
    cfg = load_config(None, ["rollout.group_size=2", "policy.template=think"])
    metrics = batch_metrics(cfg, episodes, score(episodes, cfg)[1])
    assert metrics["rollout/format_violations"] == len(episodes) and metrics["reward/mean"] == 0
