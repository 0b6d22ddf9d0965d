"""The curriculum experiment: paired runs of every controller on the skill-demanding knob, compared
with interquartile means and bootstrap intervals.

    python bench/curriculum.py [--steps 60] [--seeds 0,1,2,3,4] [--controllers ...] [--row NAME=K=V;K=V]
                               [--out DIR] [--results FILE] [--set key=value ...]
    python bench/curriculum.py --summarise --out DIR [--controllers ...] [--seeds ...]

The protocol is fixed before any run and written into the JSON:

* **Paired start, users and evaluation.** Every run starts from the same policy (the warm start:
  `WARM_START_STEPS` of the demo job on `START_MODEL`, or `--init-policy`). Runs of one seed meet
  the same training users in the same order (the scenario draws and every episode's seed depend
  on the run's seed and step only, never on the difficulty) and the same held-out users with the
  same episode seeds, so what differs between two controllers' runs of a seed is the schedule and
  what it led the policy to do.
* **A/A.** `band/aa` is `band` again with `rollout.sampling_seed` moved: the same users, other
  draws of the policy's own tokens. Its paired difference to `band` is the noise floor, and its
  interval must contain 0.
* **Where it is measured.** The primary level is the hardest on a 0.05 grid where the `expert`
  scripted policy (asks while no cue shows, then answers the need) still averages the pass
  threshold on the held-out users: a level that demands eliciting the need, yet can be served.
  Each evaluation plays `EVAL_PER_SCENARIO` dialogues per held-out scenario (situation x need x
  personality) at that level; the run logs each evaluation's stratified standard error.
* **Metrics.** Primary: the area under the held-out learning curve at the primary level (the mean
  score over the run's evaluations). Secondary: the final evaluation's score, and the steps until
  the score first reaches `TARGET_SHARE` of the expert's score (null: never).
* **Statistics** (orchestrator/tracking/seed_statistics.py, scipy's bootstrap): per controller the IQM over
  seeds with its 95 % percentile-bootstrap interval; every controller's mean paired difference to
  the best fixed level (the `fixed@` row of highest IQM, chosen on the same runs, which favours
  it) with its interval; the A/A difference.

Each run trains the demo job (`configs/demo.yaml`: its two needs, groups of 4, 24 a step) with the
row's curriculum on a private Ray cluster with MLflow in DIR. An experiment cut off resumes where
it stopped when run again with the same --out: finished runs are read back from MLflow, an
unfinished one continues from its newest checkpoint. Writes DIR/curriculum.png (the held-out curves
and the intervals) and DIR/curriculum.json, copied to `--results`; the last line printed is that
JSON. `--summarise` recomputes it from the finished runs in DIR without training.
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
from orchestrator.tracking.seed_statistics import Estimate, iqm_estimate, paired_difference

ROWS = {
    "fixed@0.2": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.2"],
    "fixed@0.35": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.35"],
    "fixed@0.65": ["curriculum.controller=fixed", "curriculum.initial_difficulty=0.65"],
    "linear": ["curriculum.controller=linear", "curriculum.initial_difficulty=0.1", "curriculum.final_difficulty=0.8"],
    "adarft": ["curriculum.controller=adarft", "curriculum.initial_difficulty=0.1"],
    "band": ["curriculum.controller=band", "curriculum.initial_difficulty=0.1"],
    "progress": ["curriculum.controller=progress"],
}
AA_SUFFIX = "/aa"
AA_SEED_OFFSET = 1000
DEFAULT = "fixed@0.35,fixed@0.65,band,progress,adarft,band/aa"
START_MODEL = "tiny-long"
WARM_START_STEPS = 60
"""The common start: the demo job (its `band` controller, seed 0) on `START_MODEL` for this many
steps, so every row starts from a policy that already fits the need when the user shows it and has
the skill the hard level asks for (eliciting it) still to learn."""
EVAL_PER_SCENARIO = 48
"""Dialogues per held-out scenario and evaluation: 576 over the demo's 12, which keeps a trained
policy's stratified standard error at about 1.3 points (the JSON reports the largest seen)."""
EVALUATIONS = 5
TARGET_SHARE = 0.6
GRID = [round(0.05 * i, 2) for i in range(21)]
EXPERIMENT = "curriculum-bench"
DEMO = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"


def row_overrides(name: str, rows: dict[str, list[str]], seed: int) -> list[str]:
    if name.endswith(AA_SUFFIX):
        return [*rows[name.removesuffix(AA_SUFFIX)], f"rollout.sampling_seed={seed + AA_SEED_OFFSET}"]
    return rows[name]


def primary_level(cfg) -> tuple[float, float]:
    """The hardest grid level where the expert's held-out mean reaches the pass threshold, and that
    mean (10 episode seeds per held-out scenario)."""
    from orchestrator.evaluation.held_out import final_emotions
    from workers.env.scripted_policies import scripted_policy

    scenarios = cfg.simulator.scenarios_of("test")
    means = final_emotions(scripted_policy("expert"), GRID, scenarios, seeds=range(10)).mean(axis=1)
    served = [(d, float(m)) for d, m in zip(GRID, means, strict=True) if m >= cfg.simulator.pass_threshold]
    return max(served)


def run_config(name: str, seed: int, args: argparse.Namespace, level: float):
    every = max(1, args.steps // EVALUATIONS)
    return load_config(
        DEMO,
        [
            *args.overrides,
            *row_overrides(name, args.rows, seed),
            f"policy.model={args.init_policy}",
            f"seed={seed}",
            f"trainer.steps={args.steps}",
            f"trainer.eval_every={every}",
            f"trainer.eval_levels=[{level}]",
            f"trainer.eval_scenarios={EVAL_PER_SCENARIO * args.held_out_scenarios}",
            f"trainer.checkpoint_every={every}",
            "trainer.keep_checkpoints=1",
            f"workdir={args.out}/runs",
            f"tracking.uri=sqlite:///{args.out}/mlflow.db",
            f"tracking.experiment={EXPERIMENT}",
            f"tracking.run_name={name}-seed{seed}",
        ],
    )


def warm_start(steps: int, out: Path, overrides: list[str]) -> str:
    """The demo job's policy after `steps` steps; a warm start an earlier invocation finished is reused."""
    from orchestrator.driver import train

    if find_run(out, "warm-start", finished=True) is None:
        print(f"warm start: the demo job on {START_MODEL} for {steps} steps", flush=True)
        cfg = load_config(
            DEMO,
            [
                f"policy.model={START_MODEL}",
                *overrides,
                "seed=0",
                f"trainer.steps={steps}",
                "trainer.eval_every=0",
                "trainer.checkpoint_every=0",
                f"workdir={out}/runs",
                f"tracking.uri=sqlite:///{out}/mlflow.db",
                f"tracking.experiment={EXPERIMENT}",
                "tracking.run_name=warm-start",
            ],
        )
        train(cfg, log=lambda message: None)
    run = find_run(out, "warm-start", finished=True)
    return str(out / "runs" / run.info.run_id / "checkpoints" / f"step_{steps:06d}")


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


def ensure_run(name: str, seed: int, args: argparse.Namespace, level: float) -> dict:
    """The run's history: read back when it finished before, else trained (continued from its
    checkpoint when an earlier invocation was cut off)."""
    from orchestrator.driver import train

    run_name = f"{name}-seed{seed}"
    if find_run(args.out, run_name, finished=True) is None:
        cut = find_run(args.out, run_name, finished=False)
        resume = args.out / "runs" / cut.info.run_id if cut else None
        print(f"{run_name}: {'continuing ' + cut.info.run_id if cut else 'training'}", flush=True)
        train(run_config(name, seed, args, level), log=lambda message: None, resume_from=resume)
    return stored_run(args.out, run_name)


def stored_run(out: Path, run_name: str) -> dict:
    from mlflow.tracking import MlflowClient

    found = find_run(out, run_name, finished=True)
    if found is None:
        raise SystemExit(f"{out}/mlflow.db: no finished run {run_name} in experiment {EXPERIMENT!r}")
    client = MlflowClient(f"sqlite:///{out}/mlflow.db")
    history = {
        key: sorted((m.step, m.value) for m in client.get_metric_history(found.info.run_id, key)) for key in found.data.metrics
    }
    return history


def figures(history: dict, level: float, target: float) -> dict:
    key = f"eval/{level:g}"
    curve = history[f"{key}/score"]
    reached = [s + 1 for s, v in curve if v >= target]
    return {
        "auc": float(np.mean([v for _, v in curve])),
        "final": curve[-1][1],
        "steps_to_target": reached[0] if reached else None,
        "curve": [[s + 1, v] for s, v in curve],
        "score_se_max": max(v for _, v in history[f"{key}/score_se"]),
        "mean_difficulty": float(np.mean([v for _, v in history["curriculum/difficulty"]])),
        "pass_rate": float(np.mean([v for _, v in history["curriculum/pass_rate"]])),
    }


def compare(per_seed: dict[str, list[dict]]) -> dict:
    """Every interval the README reads: IQM per controller, paired differences to the best fixed
    level, the A/A difference."""
    rows = {}
    for name, runs in per_seed.items():
        rows[name] = {
            "auc": iqm_estimate([r["auc"] for r in runs]).as_dict(),
            "final": iqm_estimate([r["final"] for r in runs]).as_dict(),
            "auc_per_seed": [r["auc"] for r in runs],
            "final_per_seed": [r["final"] for r in runs],
            "steps_to_target": [r["steps_to_target"] for r in runs],
            "mean_difficulty": float(np.mean([r["mean_difficulty"] for r in runs])),
            "pass_rate": float(np.mean([r["pass_rate"] for r in runs])),
        }
    fixed = [name for name in rows if name.startswith("fixed@")]
    best = max(fixed, key=lambda n: rows[n]["auc"]["point"]) if fixed else None
    result: dict = {"controllers": rows, "best_fixed": best, "vs_best_fixed": {}, "aa": {}}
    for name in rows:
        if best is not None and name != best:
            result["vs_best_fixed"][name] = {
                metric: paired_difference(rows[name][f"{metric}_per_seed"], rows[best][f"{metric}_per_seed"]).as_dict()
                for metric in ("auc", "final")
            }
        if name.endswith(AA_SUFFIX) and name.removesuffix(AA_SUFFIX) in rows:
            twin = name.removesuffix(AA_SUFFIX)
            result["aa"][name] = paired_difference(rows[name]["auc_per_seed"], rows[twin]["auc_per_seed"]).as_dict()
    return result


def plot(per_seed: dict[str, list[dict]], result: dict, protocol: dict, path: Path) -> Path:
    """Left: the held-out curves at the primary level (IQM over seeds per evaluation); right: each
    controller's AUC (IQM, 95 % interval) and its paired difference to the best fixed level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(per_seed)
    colour = {name: plt.get_cmap("tab10")(i % 10) for i, name in enumerate(names)}
    fig, (curves, intervals, diffs) = plt.subplots(1, 3, figsize=(17, 5))
    for name in names:
        steps = [s for s, _ in per_seed[name][0]["curve"]]
        scores = np.array([[v for _, v in r["curve"]] for r in per_seed[name]])
        style = ":" if name.startswith("fixed") else "-"
        curves.plot(steps, [float(iqm_estimate(col).point) for col in scores.T], style, label=name, color=colour[name])
    curves.axhline(protocol["target"], color="grey", linewidth=0.8)
    curves.set(xlabel="training steps", ylabel=f"held-out score at d = {protocol['level']:g} (IQM over seeds)")
    curves.legend(fontsize=8)

    def bars(ax, estimates: dict[str, dict], title: str) -> None:
        for i, (name, e) in enumerate(estimates.items()):
            low, high = e["low"] if e["low"] is not None else e["point"], e["high"] if e["high"] is not None else e["point"]
            ax.errorbar([e["point"]], [i], xerr=[[e["point"] - low], [high - e["point"]]], fmt="o", color=colour[name], capsize=4)
        ax.set_yticks(range(len(estimates)), list(estimates))
        ax.set_title(title, fontsize=10)

    bars(intervals, {n: result["controllers"][n]["auc"] for n in names}, "AUC: IQM over seeds, 95 % bootstrap interval")
    paired = {n: d["auc"] for n, d in result["vs_best_fixed"].items()}
    if paired:
        bars(diffs, paired, f"AUC minus {result['best_fixed']}'s, paired by seed (mean, 95 % interval)")
        diffs.axvline(0, color="grey", linewidth=0.8)
    fig.suptitle(
        f"{protocol['steps']} steps, seeds {protocol['seeds']}; primary level d = {protocol['level']:g} "
        f"(expert {protocol['expert_score']:.1f}); grey: target {protocol['target']:.1f}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def log_summary(out: Path, path: Path, result: dict) -> None:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{out}/mlflow.db")
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name="summary"):
        mlflow.log_artifact(str(path))
        mlflow.log_dict(result, "curriculum.json")


def _fmt(e: dict) -> str:
    interval = f"[{e['low']:.1f}, {e['high']:.1f}]" if e["low"] is not None else "[-]"
    return f"{e['point']:6.1f} {interval}"


def parse_rows(specs: list[str]) -> dict[str, list[str]]:
    """`--row NAME=key=value;key=value`: a controller row of the caller's (the sweep's best schedule)."""
    rows = dict(ROWS)
    for spec in specs:
        name, sep, body = spec.partition("=")
        if not sep or not body or name.endswith(AA_SUFFIX):
            raise SystemExit(f"--row {spec!r}: expected NAME=key=value;key=value (NAME not ending in {AA_SUFFIX})")
        rows[name] = body.split(";")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--controllers", default=DEFAULT, help=f"comma-separated rows, any with {AA_SUFFIX}: {', '.join(ROWS)}")
    parser.add_argument("--row", dest="rows", action="append", default=[], help="NAME=key=value;key=value: one more row")
    parser.add_argument("--init-policy", default=None, help="model directory every run starts from (default: the warm start)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--summarise", action="store_true", help="figures of the finished runs in --out; no training")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    args.rows = parse_rows(args.rows)
    names, seeds = args.controllers.split(","), [int(s) for s in args.seeds.split(",")]
    unknown = {n for n in names if n.removesuffix(AA_SUFFIX) not in args.rows}
    if unknown:
        parser.error(f"--controllers: unknown {', '.join(sorted(unknown))}; known: {', '.join(args.rows)} (and NAME{AA_SUFFIX})")
    if args.summarise and args.out is None:
        parser.error("--summarise reads an earlier experiment: name its directory with --out")
    args.out = (args.out or Path(tempfile.mkdtemp(prefix="gl-curriculum-"))).resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    base = load_config(DEMO, args.overrides)
    args.held_out_scenarios = len(base.simulator.scenarios_of("test"))
    if args.init_policy is None:
        args.init_policy = warm_start(WARM_START_STEPS, args.out, args.overrides)
    level, expert = primary_level(base)
    protocol = {
        "level": level,
        "expert_score": expert,
        "target": TARGET_SHARE * expert,
        "metric": f"mean held-out score at d = {level:g} over the run's evaluations (AUC)",
        "steps": args.steps,
        "evaluations": EVALUATIONS,
        "eval_dialogues": EVAL_PER_SCENARIO * args.held_out_scenarios,
        "held_out_scenarios": args.held_out_scenarios,
        "seeds": seeds,
        "init_policy": args.init_policy,
        "rows": {name: row_overrides(name, args.rows, 0) for name in names},
        "overrides": args.overrides,
        "out": str(args.out),
    }
    print(f"primary level d = {level:g} (expert {expert:.1f}); target {protocol['target']:.1f}", flush=True)
    per_seed: dict[str, list[dict]] = {name: [] for name in names}
    for seed in seeds:
        for name in names:
            run_name = f"{name}-seed{seed}"
            run = stored_run(args.out, run_name) if args.summarise else ensure_run(name, seed, args, level)
            per_seed[name].append(figures(run, level, protocol["target"]))
            f = per_seed[name][-1]
            print(
                f"{run_name:18s} auc {f['auc']:.1f}  final {f['final']:.1f}  se<={f['score_se_max']:.2f}  "
                f"mean d {f['mean_difficulty']:.2f}  steps to target {f['steps_to_target']}",
                flush=True,
            )
    result = {"command": " ".join(["python", *sys.argv]), "commit": commit(), "cpu": machine(), "protocol": protocol}
    result |= compare(per_seed)
    result["score_se_max"] = max(f["score_se_max"] for runs in per_seed.values() for f in runs)
    result["curves"] = {name: [f["curve"] for f in runs] for name, runs in per_seed.items()}
    for name, row in result["controllers"].items():
        line = f"{name:12s} AUC {_fmt(row['auc'])}  final {_fmt(row['final'])}"
        if name in result["vs_best_fixed"]:
            line += f"  vs {result['best_fixed']}: {_fmt(result['vs_best_fixed'][name]['auc'])}"
        print(line, flush=True)
    for name, diff in result["aa"].items():
        print(f"A/A {name}: {_fmt(diff)}; contains 0: {Estimate(**diff).contains(0.0)}", flush=True)
    figure = plot(per_seed, result, protocol, args.out / "curriculum.png")
    (args.out / "curriculum.json").write_text(json.dumps(result, indent=1))
    if args.results:
        args.results.write_text(json.dumps(result, indent=1))
    log_summary(args.out, figure, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
