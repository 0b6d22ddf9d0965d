"""Rollout, learning and weight sync on one checkpoint, in a process of its own: a second vLLM
engine inside the test process is not something vLLM supports. Prints what the tests check.

    python -m tests.support.checkpoint_probe MODEL_DIR DTYPE
"""

from __future__ import annotations

import json
import sys

import torch


def reply_ends(mask: list[int]) -> list[int]:
    """The position after each run of policy tokens (one reply each)."""
    return [i for i in range(1, len(mask) + 1) if mask[i - 1] and (i == len(mask) or not mask[i])]


def main(model_dir: str, dtype: str) -> dict:
    from tests.support.learner_settings import probe_learner_settings
    from workers.backends import SamplingConfig
    from workers.backends.model_files import stop_token_ids
    from workers.env.scenarios.english_scenarios import english_split
    from workers.learner import Learner
    from workers.rollout_worker import RolloutSettings, RolloutWorker
    from workers.types import EpisodeRequest, TrainBatch

    worker = RolloutWorker(model_dir, RolloutSettings("vllm", 512, dtype, SamplingConfig(40), "rule", 3, 70.0), seed=0)
    settings = probe_learner_settings()
    learner = Learner(model_dir, settings, seed=0)
    requests = [EpisodeRequest(s, 0.2, g, seed=g) for g, s in enumerate(english_split("train")[:12]) for _ in range(2)]

    def rollout(version: int) -> TrainBatch:
        episodes = worker.rollout(requests, version).episodes
        return TrainBatch.from_episodes(episodes, [1.0 if i % 2 else -1.0 for i in range(len(episodes))])

    def gaps(batch: TrainBatch) -> tuple[float, float]:
        mask = torch.from_numpy(batch.policy_mask)
        gap = (learner.score(batch) - torch.from_numpy(batch.rollout_logprobs))[mask].abs()
        return gap.mean().item(), gap.max().item()

    stops = stop_token_ids(model_dir, worker.tokenizer)
    endings: dict[str, int] = {}
    generate = worker.backend.generate

    def counting(prompts, sampling):
        """What the engine itself stopped on, before the rollout closes the turns."""
        out = generate(prompts, sampling)
        for g in out:
            kind = worker.tokenizer.convert_ids_to_tokens(g.token_ids[-1]) if g.finished else "cut"
            endings[kind] = endings.get(kind, 0) + 1
        return out

    worker.backend.generate = counting
    batch = rollout(0)
    worker.backend.generate = generate
    trained_stops = unclosed = 0
    for row in range(len(batch)):
        ids = batch.token_ids[row, : batch.lengths[row]].tolist()
        mask = batch.policy_mask[row, : batch.lengths[row]].tolist()
        trained_stops += sum(1 for t, m in zip(ids, mask, strict=True) if m and t in stops and t != worker.turn_end_id)
        for end in reply_ends(mask):
            closed = ids[end - 1] == worker.turn_end_id or (end < len(ids) and ids[end] == worker.turn_end_id)
            unclosed += not closed
    before = learner.score(batch)
    gap_before = gaps(batch)
    metrics = learner.update(batch)
    moved = (learner.score(batch) - before)[torch.from_numpy(batch.policy_mask)].abs().max().item()
    held = worker.update_weights(learner.weights(dtype)[0])
    return {
        "stops": list(stops),
        "pad_token": worker.tokenizer.pad_token,
        "endings": endings,
        "trained_stops": trained_stops,
        "unclosed": unclosed,
        "gap_before": gap_before,
        "metrics": metrics,
        "moved": moved,
        "held": held,
        "gap_after_sync": gaps(rollout(held)),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
