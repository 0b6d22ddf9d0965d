"""Where one learner update's time goes, on a demo-shaped batch.

    python bench/learner_profile.py [--size small] [--rows 96] [--threads 2] [--kl 0.1]

A batch shaped like a demo step's (--rows dialogues of 150-350 tokens, the first 100 of each a
prompt) of random token ids (the time does not depend on which): a warm-up update, a timed one,
then one under torch.profiler. Prints seconds per update (timed without the profiler), the share
of the profiled update in each phase (reference forward, policy forward, backward, optimizer) and
the top operators by self CPU time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def demo_shaped_batch(vocab: int, rows: int, seed: int):
    import numpy as np

    from workers.types import TokenSequence, TrainBatch

    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(rows):
        n = int(rng.integers(150, 351))
        ids = rng.integers(3, vocab, n).tolist()
        mask = [0] * 100 + [1] * (n - 100)
        sequences.append(TokenSequence(ids, mask, [-2.0 * m for m in mask]))
    return TrainBatch.from_sequences(sequences, rng.choice([-1.0, 1.0], rows).tolist())


def main() -> None:
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from workers.learner import Learner
    from workers.learner_config import LearnerSettings
    from workers.policy_model.bootstrap import ensure_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="small")
    parser.add_argument("--rows", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kl", type=float, default=0.1)
    parser.add_argument("--max-tokens", type=int, default=8192, help="padded tokens per learner forward")
    args = parser.parse_args()
    model = str(ensure_model(args.size, 0, log=lambda m: print(m, file=sys.stderr)))
    settings = LearnerSettings(
        lr=1e-6,
        clip_low=0.2,
        clip_high=0.28,
        kl_coef=args.kl,
        max_grad_norm=1.0,
        max_tokens_per_micro_batch=args.max_tokens,
        ppo_epochs=1,
        precision="fp32",
    )
    learner = Learner(model, settings, seed=0, threads=args.threads)
    batch = demo_shaped_batch(learner.model.config.vocab_size, args.rows, 0)
    learner.update(batch)
    start = time.perf_counter()
    learner.update(batch)
    update_s = time.perf_counter() - start

    phases = {"reference_forward": learner.reference, "policy_forward": learner.policy}
    originals = {}
    for name, module in phases.items():
        if module is not None:
            originals[name] = module.forward

            def timed(*a, _name=name, _forward=module.forward, **kw):
                with record_function(_name):
                    return _forward(*a, **kw)

            module.forward = timed
    step = learner.optimizer.step

    def timed_step(*a, **kw):
        with record_function("optimizer_step"):
            return step(*a, **kw)

    learner.optimizer.step = timed_step
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        learner.update(batch)
    total = time.perf_counter() - start
    events = {e.key: e for e in prof.key_averages()}
    shares = {name: events[name].cpu_time_total / 1e6 / total for name in (*originals, "optimizer_step") if name in events}
    backward = sum(e.cpu_time_total for k, e in events.items() if k.startswith("autograd::engine::evaluate_function"))
    shares["backward"] = backward / 1e6 / total
    top = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
    result = {
        "size": args.size,
        "threads": torch.get_num_threads(),
        "policy_tokens": int(batch.policy_mask.sum()),
        "tokens": int(batch.lengths.sum()),
        "update_s": update_s,
        "phase_share": {k: round(v, 3) for k, v in shares.items()},
        "top_ops_self_share": {e.key: round(e.self_cpu_time_total / 1e6 / total, 3) for e in top},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
