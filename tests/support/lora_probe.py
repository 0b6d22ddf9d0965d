"""A LoRA policy end to end in a process of its own (one vLLM engine per process): rollout on the
base, an update of the adapter, an adapter-only sync to vLLM's LoRA serving, rollout again; and the
saved adapter loaded by the HF backend. Prints what tests/integration/test_lora_rollouts.py checks.

    python -m tests.support.lora_probe MODEL_DIR OUT_DIR
"""

from __future__ import annotations

import json
import sys

import torch


def main(model_dir: str, out_dir: str) -> dict:
    from tests.support.learner_settings import probe_learner_settings
    from workers.backends import SamplingConfig
    from workers.env.scenarios.english_scenarios import english_split
    from workers.learner import Learner
    from workers.lora_config import LoraConfig
    from workers.rollout_worker import RolloutSettings, RolloutWorker
    from workers.types import EpisodeRequest, TrainBatch

    settings = RolloutSettings("vllm", 512, "float32", SamplingConfig(40), "rule", 3, 70.0, lora_rank=8)
    worker = RolloutWorker(model_dir, settings, seed=0)
    lora = LoraConfig(rank=8, alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    learner = Learner(
        model_dir,
        probe_learner_settings(lora=lora),
        seed=0,
    )
    requests = [EpisodeRequest(s, 0.2, g, seed=g) for g, s in enumerate(english_split("train")[:8]) for _ in range(2)]

    def rollout(version: int) -> TrainBatch:
        episodes = worker.rollout(requests, version).episodes
        return TrainBatch.from_episodes(episodes, [1.0 if i % 2 else -1.0 for i in range(len(episodes))])

    def gap(batch: TrainBatch) -> float:
        mask = torch.from_numpy(batch.policy_mask) > 0
        return (learner.score(batch) - torch.from_numpy(batch.rollout_logprobs))[mask].abs().max().item()

    before = rollout(0)
    result = {"gap_before": gap(before)}
    for _ in range(3):
        learner.update(before)
    result["moved"] = gap(before)
    snapshot, result["sync_bytes"] = learner.weights("float32")
    result["synced_tensors"] = len(snapshot.tensors)
    result["version"] = worker.update_weights(snapshot)
    result["gap_after"] = gap(rollout(result["version"]))
    # Ray re-sends a sync to a worker it brought back: the same version's adapter, written again.
    result["resent_version"] = worker.update_weights(snapshot)
    result["gap_after_resend"] = gap(rollout(result["resent_version"]))
    learner.save(out_dir)
    hf = RolloutWorker(out_dir, RolloutSettings("hf", 512, "float32", SamplingConfig(40), "rule", 3, 70.0), seed=0)
    episodes = hf.rollout(requests[:4], hf.version).episodes
    result["gap_hf_from_checkpoint"] = gap(TrainBatch.from_episodes(episodes, [0.0] * len(episodes)))
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
