"""The curriculum experiment: the same training budget under each controller, on the demo setup.

    python bench/curriculum.py [--steps 40] [--seeds 0,1,2] [--out DIR] [--init-policy DIR |
                               --warm-start-steps 60] [--target 60] [--results FILE] [--set key=value ...]
    python bench/curriculum.py --summarise --out DIR [--controllers ...] [--seeds ...]

Every run starts from the same policy: by default the demo job (its `band` controller, seed 0) on
the `tiny-long` policy (`START_MODEL`: the tiny model warm-started four times as long, whose
replies read as strategies often enough for RL to choose between them) trained for
`--warm-start-steps`, so that every controller starts from a policy that already passes half its
users somewhere on the knob. `--init-policy` names such a
model directory instead (`--warm-start-steps 0`: the fresh policy). Training mode: the default
synchronous loop with shared CPUs, the fastest on two cores (bench/pipeline.py).

The target (`--target`, default 15) is the held-out score at d = 0.8 of the `matching` scripted
policy, which reads every cue the user gives (15.8 on the demo's test users, 10 seeds): a policy
at the target serves the hard users as well as perfect cue reading does.

Controllers: fixed@0.2 / 0.5 / 0.8, linear (0.2 -> 0.9), adarft, band, each also `+spread` (every
group's difficulty jittered by +-0.3), per_scenario (each group at its scenario bucket's own
level), band/informative (steers by the informative-group share) and band+guard (the entropy
guard at half the warm start's final entropy, or `--entropy-floor`); per_scenario/need (levels per
need x personality: the leak check's source, not in the default set). Each
run trains the demo job (`configs/demo.yaml`, with the experiment's SETUP, plus `--set`) on a
private Ray cluster with MLflow in DIR, and evaluates held-out scenarios every `--eval-every` steps
(default a tenth of the run) at 0.2 / 0.5 / 0.8 and 1.0. Figures after a warm-up of 20% of the
steps, per controller and seed: tracking_ratio, in_band_frac, informative_frac, the final held-out
score and success rate at each level, and the steps and episodes until the score at 0.8 first
reaches `--target` (chosen before the runs; null when never).

An experiment cut off resumes where it stopped when run again with the same --out: finished runs
are read back from MLflow, an unfinished one continues from its newest checkpoint, the warm start
is reused. Writes DIR/curriculum.png (seed 0's curves), DIR/held_out_0.8.png (score at 0.8 against
steps, mean and range over seeds, one line per controller; also an MLflow artifact of a summary
run) and DIR/curriculum.json, copied to `--results`; its last line is that JSON: {"command",
"commit", "cpu", "target", "setup", "controllers": {NAME: {"tracking_ratio",
"tracking_ratio_per_seed", "in_band_frac", "informative_frac", "eval": {D: score},
"success_rate": {D: rate}, "steps_to_target": [..], "episodes_to_target": [..]}}}.
`--summarise` recomputes it from the finished runs in DIR without training.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import commit, machine
from orchestrator.config import load_config
from orchestrator.pass_curve import tracking_ratio
from orchestrator.run_report import plot_runs

PLAIN = {
    "fixed@0.2": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.2"],
    "fixed@0.5": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.5"],
    "fixed@0.8": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.8"],
    "linear": ["curriculum.controller=linear", "curriculum.initial_difficulty=0.2", "curriculum.final_difficulty=0.9"],
    "adarft": ["curriculum.controller=adarft", "curriculum.initial_difficulty=0.3"],
    "band": ["curriculum.controller=band", "curriculum.initial_difficulty=0.3"],
}
SPREAD = "curriculum.spread=0.3"
CONTROLLERS = PLAIN | {f"{name}+spread": [*options, SPREAD] for name, options in PLAIN.items()}
CONTROLLERS["band/informative"] = [*PLAIN["band"], "curriculum.signal=informative_frac"]
CONTROLLERS["band+guard"] = [*PLAIN["band"]]
CONTROLLERS["per_scenario"] = ["curriculum.controller=per_scenario", "curriculum.initial_difficulty=0.3"]
CONTROLLERS["per_scenario/need"] = [*CONTROLLERS["per_scenario"], "curriculum.bucket_by=need_personality"]
"""Its floor is added at run time: `--entropy-floor`, or half the warm start's final entropy."""
SETUP = ["rollout.group_size=4", "rollout.groups_per_step=72", "algo.lr=2e-4"]
"""The experiment's training setup, for every controller alike. 72 groups (288 episodes, groups of
4 as in RLVER) keep noise_sd under a quarter of the band's width (0.05) with groups jittered by
+-0.3; the demo's 12 groups of 8 gave ~0.11. lr 2e-4, not the demo's 1e-3: at 1e-3 the tiny
policy's pass rate at a fixed difficulty jumps by 0.15-0.3 between steps, which no controller can
foresee."""
START_MODEL = "tiny-long"
"""The policy the warm start trains (a `--set policy.model=...` overrides it)."""
DEFAULT = ",".join([*PLAIN, *(f"{name}+spread" for name in PLAIN), "band+guard", "per_scenario"])
LEVELS = [0.2, 0.5, 0.8, 1.0]
EXPERIMENT = "curriculum-bench"


def run_config(name: str, seed: int, args: argparse.Namespace, extra: list[str]):
    return load_config(
        None,
        [
            *SETUP,
            *CONTROLLERS[name],
            *extra,
            f"seed={seed}",
            f"trainer.steps={args.steps}",
            f"trainer.eval_every={args.eval_every or max(1, args.steps // 10)}",
            f"trainer.eval_levels={LEVELS}",
            f"trainer.checkpoint_every={max(1, args.steps // 4)}",
            "trainer.keep_checkpoints=1",
            f"workdir={args.out}/runs",
            f"tracking.uri=sqlite:///{args.out}/mlflow.db",
            f"tracking.experiment={EXPERIMENT}",
            f"tracking.run_name={name}-seed{seed}",
        ],
    )


def find_run(out: Path, run_name: str, finished: bool):
    """The newest run of that name in OUT's MLflow store: FINISHED, or (finished False) one that
    was cut off and left a checkpoint behind."""
    from mlflow.tracking import MlflowClient

    from orchestrator.checkpoints import checkpoints

    client = MlflowClient(f"sqlite:///{out}/mlflow.db")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return None
    status = "= 'FINISHED'" if finished else "!= 'FINISHED'"
    for run in client.search_runs(
        [experiment.experiment_id],
        f"tags.mlflow.runName = '{run_name}' and attributes.status {status}",
        order_by=["attributes.start_time DESC"],
    ):
        if finished or checkpoints(out / "runs" / run.info.run_id):
            return run
    return None


def ensure_run(name: str, seed: int, args: argparse.Namespace, extra: list[str]) -> dict:
    """The run's figures' raw material: read back when it finished before, else trained (continued
    from its checkpoint when an earlier invocation was cut off)."""
    from orchestrator.driver import train

    run_name = f"{name}-seed{seed}"
    if find_run(args.out, run_name, finished=True) is None:
        cut = find_run(args.out, run_name, finished=False)
        resume = args.out / "runs" / cut.info.run_id if cut else None
        print(f"{run_name}: {'continuing ' + cut.info.run_id if cut else 'training'}", flush=True)
        train(run_config(name, seed, args, extra), log=lambda message: None, resume_from=resume)
    return stored_run(args.out, run_name)


def stored_run(out: Path, run_name: str) -> dict:
    from mlflow.tracking import MlflowClient

    found = find_run(out, run_name, finished=True)
    if found is None:
        raise SystemExit(f"{out}/mlflow.db: no finished run {run_name} in experiment {EXPERIMENT!r}")
    client = MlflowClient(f"sqlite:///{out}/mlflow.db")
    run_id = found.info.run_id
    history = {key: sorted((m.step, m.value) for m in client.get_metric_history(run_id, key)) for key in found.data.metrics}
    config = json.loads((out / "runs" / run_id / "config.json").read_text())
    c = config["curriculum"]
    return {
        "history": history,
        "centre": sum(c["band"]) / 2,
        "band": list(c["band"]),
        "steps": config["trainer"]["steps"],
        "episodes_per_step": config["rollout"]["groups_per_step"] * config["rollout"]["group_size"],
        "init_policy": config["policy"]["model"],
    }


def warm_start(steps: int, out: Path, extra: list[str]) -> tuple[str, float]:
    """The demo job's policy after `steps` steps (the experiment's common start) and its final
    entropy; a warm start an earlier invocation finished is reused."""
    from orchestrator.driver import train

    if find_run(out, "warm-start", finished=True) is None:
        print(f"warm start: the demo job for {steps} steps", flush=True)
        cfg = load_config(
            None,
            [
                f"policy.model={START_MODEL}",
                *extra,
                f"trainer.steps={steps}",
                "trainer.checkpoint_every=0",
                f"workdir={out}/runs",
                f"tracking.uri=sqlite:///{out}/mlflow.db",
                f"tracking.experiment={EXPERIMENT}",
                "tracking.run_name=warm-start",
            ],
        )
        train(cfg, log=lambda message: None)
    run = find_run(out, "warm-start", finished=True)
    return str(out / "runs" / run.info.run_id / "checkpoints" / f"step_{steps:06d}"), run.data.metrics["actor/entropy"]


def figures(run: dict, target: float) -> dict:
    h, warmup = run["history"], run["steps"] // 5

    def after(key: str) -> list[float]:
        return [v for s, v in h[key] if s >= warmup]

    pass_rates, noise = after("curriculum/pass_rate"), [x**2 for x in after("curriculum/noise_sd")]
    low, high = run["band"]
    reached = [s for s, v in h["eval/0.8/score"] if v >= target]
    steps = reached[0] + 1 if reached else None
    return {
        "tracking_ratio": tracking_ratio(pass_rates, noise, run["centre"]) if sum(noise) > 0 else None,
        "in_band_frac": float(np.mean([low <= p <= high for p in pass_rates])),
        "informative_frac": float(np.mean(after("curriculum/informative_group_frac"))),
        "eval": {f"{d:g}": h[f"eval/{d:g}/score"][-1][1] for d in LEVELS},
        "success_rate": {f"{d:g}": h[f"eval/{d:g}/success_rate"][-1][1] for d in LEVELS},
        "steps_to_target": steps,
        "episodes_to_target": steps * run["episodes_per_step"] if steps else None,
        "noise_sd": float(np.sqrt(np.mean(noise))),
    }


def summary(per_seed: list[dict]) -> dict:
    """Means over seeds of the scalar figures, per-level means of the evaluations, and the
    per-seed lists the comparison needs (steps to target stays per seed: a mean over seeds that
    never reached it would be no number)."""

    def mean(values: list) -> float | None:
        kept = [v for v in values if v is not None]
        return float(np.mean(kept)) if kept else None

    return {
        "tracking_ratio": mean([p["tracking_ratio"] for p in per_seed]),
        "tracking_ratio_per_seed": [p["tracking_ratio"] for p in per_seed],
        "in_band_frac": mean([p["in_band_frac"] for p in per_seed]),
        "informative_frac": mean([p["informative_frac"] for p in per_seed]),
        "eval": {d: mean([p["eval"][d] for p in per_seed]) for d in per_seed[0]["eval"]},
        "success_rate": {d: mean([p["success_rate"][d] for p in per_seed]) for d in per_seed[0]["success_rate"]},
        "steps_to_target": [p["steps_to_target"] for p in per_seed],
        "episodes_to_target": [p["episodes_to_target"] for p in per_seed],
    }


def plot_held_out(runs: dict[str, list[dict]], target: float, path: Path) -> Path:
    """Two panels on one score axis: the controllers as they are, and with every group jittered
    (`+spread`); a controller keeps its colour in both, so a row and its jittered twin compare
    across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {
        "as they are": [n for n in runs if "+spread" not in n],
        "groups jittered +-0.3": [n for n in runs if "+spread" in n],
    }
    panels = {title: names for title, names in panels.items() if names}
    bases = list(dict.fromkeys(name.removesuffix("+spread") for name in runs))
    colour = {base: plt.get_cmap("tab10")(i % 10) for i, base in enumerate(bases)}
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 5), sharey=True, squeeze=False)
    for ax, (title, names) in zip(axes[0], panels.items(), strict=True):
        for name in names:
            seeds = runs[name]
            steps = [s + 1 for s, _ in seeds[0]["history"]["eval/0.8/score"]]
            scores = np.array([[v for _, v in r["history"]["eval/0.8/score"]][: len(steps)] for r in seeds])
            c = colour[name.removesuffix("+spread")]
            ax.plot(steps, scores.mean(axis=0), label=name, color=c, linestyle=":" if name.startswith("fixed") else "-")
            ax.fill_between(steps, scores.min(axis=0), scores.max(axis=0), color=c, alpha=0.10)
        ax.axhline(target, color="grey", linewidth=0.8)
        ax.set_title(title)
        ax.set_xlabel("training steps")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("held-out score at d = 0.8")
    seeds_n = len(next(iter(runs.values())))
    fig.suptitle(f"mean and range over {seeds_n} seeds; grey: target {target:g}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def log_summary(out: Path, paths: list[Path], result: dict) -> None:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{out}/mlflow.db")
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name="summary"):
        for path in paths:
            mlflow.log_artifact(str(path))
        mlflow.log_dict(result, "curriculum.json")


def _line(figures: dict) -> str:
    return "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--init-policy", default=None, help="model directory every run starts from")
    parser.add_argument("--warm-start-steps", type=int, default=60, help="demo steps that make the common start")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--target", type=float, default=15.0, help="eval score at 0.8 counted as reached")
    parser.add_argument("--eval-every", type=int, default=0, help="steps between evaluations (default: a tenth)")
    parser.add_argument("--entropy-floor", type=float, default=None, help="band+guard's floor")
    parser.add_argument("--controllers", default=DEFAULT, help=f"comma-separated, of {', '.join(CONTROLLERS)}")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--summarise", action="store_true", help="figures of the finished runs in --out; no training")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    names, seeds = args.controllers.split(","), [int(s) for s in args.seeds.split(",")]
    unknown = set(names) - set(CONTROLLERS)
    if unknown:
        parser.error(f"--controllers: unknown {', '.join(sorted(unknown))}; known: {', '.join(CONTROLLERS)}")
    if args.summarise and args.out is None:
        parser.error("--summarise reads an earlier experiment: name its directory with --out")
    args.out = args.out or Path(tempfile.mkdtemp(prefix="gl-curriculum-"))
    args.out.mkdir(parents=True, exist_ok=True)
    init, floor = args.init_policy, args.entropy_floor
    if not args.summarise and init is None and args.warm_start_steps:
        init, entropy = warm_start(args.warm_start_steps, args.out, args.overrides)
        floor = floor or entropy / 2
    if "band+guard" in names and floor is None and not args.summarise:
        parser.error("band+guard needs --entropy-floor when there is no warm start to take it from")
    overrides = [*args.overrides, f"policy.model={init}"] if init else args.overrides
    runs: dict[str, list[dict]] = {name: [] for name in names}
    per_seed: dict[str, list[dict]] = {name: [] for name in names}
    for seed in seeds:
        for name in names:
            extra = [*overrides, f"curriculum.entropy_floor={floor}"] if name == "band+guard" else overrides
            run = stored_run(args.out, f"{name}-seed{seed}") if args.summarise else ensure_run(name, seed, args, extra)
            runs[name].append(run)
            per_seed[name].append(figures(run, args.target))
            print(f"{name:18s} seed {seed}  " + _line(per_seed[name][-1]), flush=True)
    first = runs[names[0]][0]
    result = {
        "command": " ".join(["python", *sys.argv]),
        "commit": commit(),
        "cpu": machine(),
        "target": args.target,
        "setup": {
            "episodes_per_step": first["episodes_per_step"],
            "band": first["band"],
            "steps": first["steps"],
            "seeds": seeds,
            "init_policy": first["init_policy"],
            "entropy_floor": floor,
            "noise_sd": float(np.mean([p["noise_sd"] for name in names for p in per_seed[name]])),
            "out": str(args.out),
        },
        "controllers": {name: summary(per_seed[name]) for name in names},
    }
    for name in names:
        print(f"{name:18s} mean    " + _line(result["controllers"][name]), flush=True)
    curves = plot_runs({name: r[0]["history"] for name, r in runs.items()}, args.out / "curriculum.png", f"seed {seeds[0]}")
    held_out = plot_held_out(runs, args.target, args.out / "held_out_0.8.png")
    (args.out / "curriculum.json").write_text(json.dumps(result, indent=1))
    if args.results:
        args.results.write_text(json.dumps(result, indent=1))
    log_summary(args.out, [curves, held_out], result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
