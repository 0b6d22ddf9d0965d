"""The curriculum experiment: the same training budget under each controller, on the demo setup.

    python bench/curriculum.py [--steps 40] [--seeds 0,1,2] [--out DIR] [--init-policy DIR |
                               --warm-start-steps 60] [--set key=value ...]
    python bench/curriculum.py --summarise --out DIR [--controllers ...] [--seeds ...]

Every run starts from the same policy: by default the demo job trained for `--warm-start-steps`
at its fixed difficulty 0.3 (seed 0), so that the knob spans the band from the first step - the
freshly built tiny policy passes ~0.1 even at d = 0, where no controller can reach the band.
`--init-policy` names such a model directory instead (`--warm-start-steps 0`: the fresh policy).

Controllers: fixed@0.2, fixed@0.5, fixed@0.9, linear (0.2 -> 0.9), adarft, band; on request also
band/informative (steers by the informative-group share) and adarft+spread / band+spread (each
group's difficulty jittered by +-0.3, which lets a batch sit halfway down a cliff in the pass
curve, like the one the rule user has where it hides its cue). Each run trains the demo job
(`configs/demo.yaml`, with the experiment's SETUP, plus `--set`) on a private Ray cluster with
MLflow in DIR, and evaluates held-out scenarios every fifth of the run at levels 0.2 / 0.5 / 0.8
and 1.0 (the last only to check that the policy has not outgrown the knob). Figures after a
warm-up of 20% of the steps, per controller (mean over seeds, and per seed): tracking_ratio,
in_band_frac, informative_frac, eval_hard_score (final held-out score at 0.8; eval_score@0.5 and
eval_score@0.2 beside it), pass_at_1 (final success rate at d = 1), steps_to_target (first
evaluation step whose 0.8 score reaches --target). Writes DIR/curriculum.png; the last line is one
JSON object keyed by controller, plus `setup`. `--summarise` reads those figures back from the
finished runs in DIR (its MLflow store), without training again.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from orchestrator.config import load_config
from orchestrator.pass_curve import tracking_ratio
from orchestrator.run_report import plot_runs

CONTROLLERS = {
    "fixed@0.2": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.2"],
    "fixed@0.5": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.5"],
    "fixed@0.9": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.9"],
    "linear": ["curriculum.controller=linear", "curriculum.initial_difficulty=0.2", "curriculum.final_difficulty=0.9"],
    "adarft": ["curriculum.controller=adarft", "curriculum.initial_difficulty=0.3"],
    "band": ["curriculum.controller=band", "curriculum.initial_difficulty=0.3"],
    "band/informative": ["curriculum.controller=band", "curriculum.initial_difficulty=0.3", "curriculum.signal=informative_frac"],
}
SPREAD = "curriculum.spread=0.3"
SETUP = ["rollout.group_size=4", "rollout.groups_per_step=72", "algo.lr=2e-4"]
"""The experiment's training setup, for every controller alike. 72 groups (288 episodes, groups of
4 as in RLVER) keep noise_sd under a quarter of the band's width (0.05) with groups jittered by
+-0.3; the demo's 12 groups of 8 gave ~0.11. lr 2e-4, not the demo's 1e-3: at 1e-3 the tiny
policy's pass rate at a fixed difficulty jumps by 0.15-0.3 between steps, which no controller can
foresee (`band` R 3.3 at noise_sd 0.05, seed 0); at 2e-4 it still climbs the knob from 0.3 to ~0.9
within 20 steps."""
CONTROLLERS |= {f"{name}+spread": [*CONTROLLERS[name], SPREAD] for name in ("adarft", "band")}
DEFAULT = "fixed@0.2,fixed@0.5,fixed@0.9,linear,adarft,band"
LEVELS = [0.2, 0.5, 0.8, 1.0]
EXPERIMENT = "curriculum-bench"


def one_run(name: str, seed: int, steps: int, workdir: Path, extra: list[str]) -> dict:
    from orchestrator.driver import train

    cfg = load_config(
        None,
        [
            *SETUP,
            *CONTROLLERS[name],
            *extra,
            f"seed={seed}",
            f"trainer.steps={steps}",
            f"trainer.eval_every={max(1, steps // 5)}",
            f"trainer.eval_levels={LEVELS}",
            "trainer.checkpoint_every=0",
            f"workdir={workdir}/runs",
            f"tracking.uri=sqlite:///{workdir}/mlflow.db",
            f"tracking.experiment={EXPERIMENT}",
            f"tracking.run_name={name}-seed{seed}",
        ],
    )
    history: dict[str, list[tuple[int, float]]] = {}

    def on_step(step: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            history.setdefault(key, []).append((step, value))

    train(cfg, on_step=on_step, log=lambda message: None)
    return _run(history, cfg.model_dump(mode="json"))


def _run(history: dict[str, list[tuple[int, float]]], config: dict) -> dict:
    c = config["curriculum"]
    return {
        "history": history,
        "centre": sum(c["band"]) / 2,
        "band": list(c["band"]),
        "steps": config["trainer"]["steps"],
        "episodes_per_step": config["rollout"]["groups_per_step"] * config["rollout"]["group_size"],
        "init_policy": config["policy"]["model"],
    }


def stored_run(out: Path, name: str, seed: int) -> dict:
    """A finished run of an earlier experiment in OUT, read back from its MLflow store and run
    directory: `--summarise` recomputes the figures without training again."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{out}/mlflow.db")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    found = (
        client.search_runs(
            [experiment.experiment_id],
            f"tags.mlflow.runName = '{name}-seed{seed}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if experiment
        else []
    )
    if not found:
        raise SystemExit(f"{out}/mlflow.db: no finished run {name}-seed{seed} in experiment {EXPERIMENT!r}")
    run_id = found[0].info.run_id
    history = {key: sorted((m.step, m.value) for m in client.get_metric_history(run_id, key)) for key in found[0].data.metrics}
    return _run(history, json.loads((out / "runs" / run_id / "config.json").read_text()))


def warm_start(steps: int, workdir: Path, extra: list[str]) -> str:
    """The demo job's policy after `steps` steps at fixed d = 0.3: the experiment's common start."""
    from orchestrator.driver import train

    cfg = load_config(
        None,
        [
            *extra,
            f"trainer.steps={steps}",
            "trainer.checkpoint_every=0",
            f"workdir={workdir}/runs",
            f"tracking.uri=sqlite:///{workdir}/mlflow.db",
            f"tracking.experiment={EXPERIMENT}",
            "tracking.run_name=warm-start",
        ],
    )
    summary = train(cfg, log=lambda message: None)
    return str(summary.run_dir / "checkpoints" / f"step_{steps:06d}")


def figures(run: dict, target: float) -> dict[str, float | None]:
    h, warmup = run["history"], run["steps"] // 5

    def after(key: str) -> list[float]:
        return [v for s, v in h[key] if s >= warmup]

    pass_rates, noise = after("curriculum/pass_rate"), [x**2 for x in after("curriculum/noise_sd")]
    low, high = run["band"]
    hard = h["eval/0.8/score"]
    reached = [s for s, v in hard if v >= target]
    return {
        "tracking_ratio": tracking_ratio(pass_rates, noise, run["centre"]) if sum(noise) > 0 else None,
        "in_band_frac": float(np.mean([low <= p <= high for p in pass_rates])),
        "informative_frac": float(np.mean(after("curriculum/informative_group_frac"))),
        "eval_hard_score": hard[-1][1],
        "eval_score@0.5": h["eval/0.5/score"][-1][1],
        "eval_score@0.2": h["eval/0.2/score"][-1][1],
        "pass_at_1": h["eval/1/success_rate"][-1][1],
        "steps_to_target": reached[0] + 1 if reached else None,
        "noise_sd": float(np.sqrt(np.mean(noise))),
    }


def _line(figures: dict) -> str:
    return "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--init-policy", default=None, help="model directory every run starts from")
    parser.add_argument("--warm-start-steps", type=int, default=60, help="demo steps that make the common start")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--target", type=float, default=60.0, help="eval score at 0.8 counted as reached")
    parser.add_argument("--controllers", default=DEFAULT, help=f"comma-separated, of {', '.join(CONTROLLERS)}")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--summarise", action="store_true", help="figures of the finished runs in --out; no training")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    names, seeds = args.controllers.split(","), [int(s) for s in args.seeds.split(",")]
    unknown = set(names) - set(CONTROLLERS)
    if unknown:
        parser.error(f"--controllers: unknown {', '.join(sorted(unknown))}; known: {', '.join(CONTROLLERS)}")
    if args.summarise and args.out is None:
        parser.error("--summarise reads an earlier experiment: name its directory with --out")
    out = args.out or Path(tempfile.mkdtemp(prefix="gl-curriculum-"))
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    per_seed: dict[str, list[dict]] = {name: [] for name in names}
    init = args.init_policy
    if not args.summarise and init is None and args.warm_start_steps:
        print(f"warm start: the demo job for {args.warm_start_steps} steps at d = 0.3", flush=True)
        init = warm_start(args.warm_start_steps, out, args.overrides)
    overrides = [*args.overrides, f"policy.model={init}"] if init else args.overrides
    for seed in seeds:
        for name in names:
            runs[name].append(stored_run(out, name, seed) if args.summarise else one_run(name, seed, args.steps, out, overrides))
            per_seed[name].append(figures(runs[name][-1], args.target))
            if not args.summarise:
                with (out / "runs.jsonl").open("a") as f:
                    f.write(json.dumps({"controller": name, "seed": seed, **per_seed[name][-1]}) + "\n")
            print(f"{name:18s} seed {seed}  " + _line(per_seed[name][-1]), flush=True)
    result: dict[str, dict] = {}
    for name in names:
        mean = {
            k: float(np.mean(values)) if (values := [p[k] for p in per_seed[name] if p[k] is not None]) else None
            for k in per_seed[name][0]
        }
        result[name] = {**mean, "per_seed": per_seed[name]}
        print(f"{name:18s} mean    " + _line(mean), flush=True)
    plot_runs({name: seeds[0]["history"] for name, seeds in runs.items()}, out / "curriculum.png", f"seed {seeds[0]}")
    first = runs[names[0]][0]
    result["setup"] = {
        "episodes_per_step": first["episodes_per_step"],
        "band": first["band"],
        "noise_sd": float(np.mean([r["noise_sd"] for name in runs for r in result[name]["per_seed"]])),
        "steps": first["steps"],
        "seeds": seeds,
        "init_policy": first["init_policy"],
        "out": str(out),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
