"""Controllers on the synthetic learner (no model, seconds): how closely each holds the band.

    python bench/controllers_synthetic.py [--steps 60] [--seeds 0,1,2] [--curve gentle|cliff]

The learner's pass curve drifts as it learns, faster when its batches are informative
(tests/support/synthetic_learner.py). After a warm-up of 20% of the steps, per controller and
seed: tracking ratio R = mean((p-hat - c)^2) / mean(sigma-hat^2) (~1 = only sampling noise; an
oracle that knows the true curve is included for scale), share of steps in band, mean
informative-group fraction, and the skill the learner reached. `--curve cliff` makes the pass
curve fall from ~0.9 to ~0.1 within 0.15 of difficulty (like the rule user's where it hides its
cue), where only jittered batches (`+spread`) can sit halfway down. `NAME/informative` steers by
`curriculum.signal=informative_frac` instead of the pass rate. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from orchestrator.config import load_config
from orchestrator.curriculum.controllers import make_controller
from orchestrator.curriculum.pass_curve import tracking_ratio
from tests.support.synthetic_learner import SyntheticLearner, drive

START = "curriculum.initial_difficulty=0.3"
CONTROLLERS = {
    "fixed@0.2": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.2"],
    "fixed@0.5": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.5"],
    "fixed@0.9": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.9"],
    "linear": ["curriculum.controller=linear", "curriculum.initial_difficulty=0.2", "curriculum.final_difficulty=0.9"],
    "adarft": ["curriculum.controller=adarft", START],
    "band": ["curriculum.controller=band", START],
    "band+spread0.1": ["curriculum.controller=band", "curriculum.spread=0.1", START],
    "adarft+spread0.1": ["curriculum.controller=adarft", "curriculum.spread=0.1", START],
    "band+spread0.3": ["curriculum.controller=band", "curriculum.spread=0.3", START],
    "adarft+spread0.3": ["curriculum.controller=adarft", "curriculum.spread=0.3", START],
    "tpe": ["curriculum.controller=tpe", START],
    "gp": ["curriculum.controller=gp", START],
}
INFORMATIVE = "curriculum.signal=informative_frac"
CURVES = {"gentle": {}, "cliff": {"slope": 30.0, "skill": 21.0, "rate": 0.04}}
CONTROLLERS |= {f"{name}/informative": [*CONTROLLERS[name], INFORMATIVE] for name in ("band", "tpe", "gp")}


def summarise(stats: list, warmup: int, centre: float, skill: float) -> dict[str, float | None]:
    """R is None where no step had mixed groups (a batch all-pass or all-fail has no sampling
    noise to compare with)."""
    after = stats[warmup:]
    noise = [s.noise_sd**2 for s in after]
    return {
        "tracking_ratio": tracking_ratio([s.pass_rate for s in after], noise, centre) if sum(noise) > 0 else None,
        "in_band_frac": float(np.mean([0.4 <= s.pass_rate <= 0.6 for s in after])),
        "informative_frac": float(np.mean([s.informative_group_frac for s in after])),
        "final_skill": skill,
    }


def seed_means(per_seed: list[dict]) -> dict[str, float | None]:
    return {k: float(np.mean(values)) if (values := [p[k] for p in per_seed if p[k] is not None]) else None for k in per_seed[0]}


def oracle(steps: int, seed: int, warmup: int, curve: dict) -> dict[str, float]:
    learner = SyntheticLearner(rng=np.random.default_rng(seed), **curve)
    stats = [learner.step(min(1.0, max(0.0, learner.skill / learner.slope))) for _ in range(steps)]
    return summarise(stats, warmup, 0.5, learner.skill)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--curve", choices=CURVES, default="gentle")
    parser.add_argument("--controllers", default=",".join(CONTROLLERS), help="comma-separated subset")
    args = parser.parse_args()
    unknown = set(args.controllers.split(",")) - set(CONTROLLERS)
    if unknown:
        parser.error(f"--controllers: unknown {', '.join(sorted(unknown))}; known: {', '.join(CONTROLLERS)}")
    curve = CURVES[args.curve]
    seeds = [int(s) for s in args.seeds.split(",")]
    warmup = args.steps // 5
    result: dict[str, dict] = {}
    for name in args.controllers.split(","):
        overrides = CONTROLLERS[name]
        per_seed = []
        for seed in seeds:
            cfg = load_config(None, [*overrides, f"seed={seed}", f"trainer.steps={args.steps}"])
            learner = SyntheticLearner(rng=np.random.default_rng(seed), **curve)
            trace = drive(make_controller(cfg, f"{name}-{seed}", None), learner, args.steps)
            per_seed.append(summarise(trace.stats, warmup, sum(cfg.curriculum.band) / 2, learner.skill))
        result[name] = {"per_seed": per_seed, **seed_means(per_seed)}
        ratio = result[name]["tracking_ratio"]
        print(
            f"{name:18s} R {'-' if ratio is None else f'{ratio:.2f}':>6s}  in band {result[name]['in_band_frac']:.2f}  "
            f"informative {result[name]['informative_frac']:.2f}  skill {result[name]['final_skill']:.2f}",
            flush=True,
        )
    per_seed = [oracle(args.steps, s, warmup, curve) for s in seeds]
    result["oracle"] = {"per_seed": per_seed, **seed_means(per_seed)}
    result["setup"] = {
        "steps": args.steps,
        "warmup": warmup,
        "seeds": seeds,
        "groups": 12,
        "group_size": 8,
        "band": [0.4, 0.6],
        "curve": args.curve,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
