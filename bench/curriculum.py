"""The curriculum experiment: does an adaptive difficulty schedule, tuned like the fixed level it is
compared with, differ from the best fixed level? Sized by a power plan, judged by a declared,
corrected comparison set.

    python bench/curriculum.py [--pairs N] [--max-minutes M] [--out DIR] [--ledger FILE] [--results FILE]
    python bench/curriculum.py --summarise [--ledger FILE] [--results FILE]

The protocol (bench/curriculum_design.py, written into the JSON):

* **Two phases on separate warm starts and seeds.** Selection: each family's four candidates
  (`fixed` over levels 0.2-0.65, `band` over its target pass rate, `progress` over its
  exploration and levels) on `SELECTION_PAIRS` pairs; each family's candidate of highest mean AUC
  goes on. Main: the chosen `fixed`, `band` and `progress`, and `band/aa` (the chosen band, only
  the policy's sampling seed moved), on `--pairs` pairs. No main-phase run informs a choice.
* **A pair = a warm start of its own and a seed.** Warm start k is the demo job on
  `START_MODEL` for `WARM_START_STEPS` steps with its own seed, never a run's seed, so no run
  replays its warm start's users. Every row of pair k starts from it, meets the same training
  users in the same order and the same held-out users with the same episode seeds.
* **Measured at the primary level**: the hardest grid level where the `expert` scripted policy
  still averages the pass threshold. AUC = mean held-out score over `EVALUATIONS` evaluations of
  `EVAL_PER_SCENARIO` dialogues per held-out scenario.
* **Statistics** (orchestrator/stats): the declared family (band and progress against fixed, on the
  AUC) gets t intervals, exact sign-flip p-values, Holm's correction, TOST against a 2-point
  margin and the minimum detectable effect; the final score and the A/A are exploratory. The A/A
  calibration measures the procedure's false-positive rate on simulated nulls at the measured
  spread and on resamples of the real A/A differences.

Before running it prints the power plan (pairs a 3-point effect needs at the pilot's spread). It
runs pair by pair, each pair's rows together, and records every finished run in the ledger
(`bench/results/curriculum_runs.jsonl`, committed): run again, it continues where the ledger
stops, in this session or a later one. `--max-minutes` stops starting runs after that long, so a
session can commit what finished. The last line printed is the results JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import commit, machine
from bench.curriculum_design import (
    AA_ROW,
    AA_SAMPLING_OFFSET,
    CANDIDATES,
    EVAL_PER_SCENARIO,
    EVALUATIONS,
    GRID,
    MAIN_ROWS,
    PINNED,
    PLAN,
    SELECTION_PAIRS,
    START_MODEL,
    START_MODEL_SEED,
    STEPS,
    TARGET_SHARE,
    WARM_START_STEPS,
    Ledger,
    Pair,
    seeds_are_disjoint,
    weights_sha256,
)
from bench.curriculum_report import pilot_sd, reanalyse_pilot, summarise
from orchestrator.config import load_config
from orchestrator.stats.power import seeds_needed

RESULTS = Path(__file__).resolve().parent / "results"
PILOT = RESULTS / "curriculum_pilot.json"
"""The previous experiment (commit 10c8dc1: 6 rows x 5 seeds from one warm start): the pilot whose
spread sizes this one, re-judged by the current rules in the results."""
EXPERIMENT = "curriculum-bench"
DEMO = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"


def primary_level(cfg) -> tuple[float, float]:
    """The hardest grid level where the expert's held-out mean reaches the pass threshold, and that
    mean (10 episode seeds per held-out scenario)."""
    from orchestrator.evaluation.held_out import final_emotions
    from workers.env.scripted_policies import scripted_policy

    scenarios = cfg.simulator.scenarios_of("test")
    means = final_emotions(scripted_policy("expert"), GRID, scenarios, seeds=range(10)).mean(axis=1)
    served = [(d, float(m)) for d, m in zip(GRID, means, strict=True) if m >= cfg.simulator.pass_threshold]
    return max(served)


def common_overrides(out: Path, run_name: str) -> list[str]:
    return [
        f"workdir={out}/runs",
        f"tracking.uri=sqlite:///{out}/mlflow.db",
        f"tracking.experiment={EXPERIMENT}",
        f"tracking.run_name={run_name}",
    ]


def warm_start(pair: Pair, args: argparse.Namespace, ledger: Ledger) -> Path:
    """The pair's warm-start checkpoint: reused from --out when there, else trained; its weights
    recorded in the ledger (runs recorded on other weights under its name are dropped)."""
    from orchestrator.driver import train
    from orchestrator.model_sources import resolve_model

    checkpoint = args.out / "warm-starts" / pair.warm_start
    if not checkpoint.is_dir():
        print(f"warm start {pair.warm_start}: the demo job on {START_MODEL}, seed {pair.warm_start_seed}", flush=True)
        base = resolve_model(START_MODEL, START_MODEL_SEED, log=lambda message: None)
        cfg = load_config(
            DEMO,
            [
                f"policy.model={base}",
                *PINNED,
                *args.overrides,
                f"seed={pair.warm_start_seed}",
                f"trainer.steps={WARM_START_STEPS}",
                "trainer.eval_every=0",
                "trainer.checkpoint_every=0",
                *common_overrides(args.out, pair.warm_start),
            ],
        )
        train(cfg, log=lambda message: None)
        run = newest_run(args.out, pair.warm_start)
        final = args.out / "runs" / run / "checkpoints" / f"step_{WARM_START_STEPS:06d}"
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        final.rename(checkpoint)
    dropped = ledger.record_warm_start(pair.warm_start, pair.warm_start_seed, weights_sha256(checkpoint))
    if dropped:
        print(f"warm start {pair.warm_start} was rebuilt with other weights: {len(dropped)} run(s) on it dropped", flush=True)
    return checkpoint


def newest_run(out: Path, run_name: str, finished: bool = True) -> str | None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{out}/mlflow.db")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return None
    status = "= 'FINISHED'" if finished else "!= 'FINISHED'"
    found = client.search_runs(
        [experiment.experiment_id],
        f"tags.mlflow.runName = '{run_name}' and attributes.status {status}",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return found[0].info.run_id if found else None


def train_run(pair: Pair, row: str, name: str, candidate: list[str], init: Path, args: argparse.Namespace) -> tuple[str, dict]:
    """One row's run of candidate `name` on one pair (continued from its checkpoint when an earlier
    invocation was cut off); its MLflow run id and its metric histories."""
    from mlflow.tracking import MlflowClient

    from orchestrator.checkpoints import checkpoints
    from orchestrator.driver import train

    run_name = f"{pair.phase}-{row}-{name}-{pair.warm_start}"
    every = max(1, STEPS // EVALUATIONS)
    sampling = [f"rollout.sampling_seed={pair.seed + AA_SAMPLING_OFFSET}"] if row == AA_ROW else []
    # The main phase's runs carry the declared family, so `goldilocks compare` on them judges it as this bench does.
    declared = [
        f"analysis.metric=eval/{args.level:g}/score",
        f"analysis.reference={PLAN.reference}",
        f"analysis.comparisons={PLAN.comparisons}",
    ]
    declared = declared if pair.phase == "main" else []
    cfg = load_config(
        DEMO,
        [
            *PINNED,
            *args.overrides,
            *candidate,
            *sampling,
            f"policy.model={init}",
            f"seed={pair.seed}",
            f"trainer.steps={STEPS}",
            f"trainer.eval_every={every}",
            f"trainer.eval_levels=[{args.level}]",
            f"trainer.eval_scenarios={EVAL_PER_SCENARIO * args.held_out_scenarios}",
            f"trainer.checkpoint_every={every}",
            "trainer.keep_checkpoints=1",
            f"analysis.row={row}",
            *declared,
            *common_overrides(args.out, run_name),
        ],
    )
    cut = newest_run(args.out, run_name, finished=False)
    resume = args.out / "runs" / cut if cut and checkpoints(args.out / "runs" / cut) else None
    train(cfg, log=lambda message: None, resume_from=resume)
    run_id = newest_run(args.out, run_name)
    client = MlflowClient(f"sqlite:///{args.out}/mlflow.db")
    keys = [f"eval/{args.level:g}/score", f"eval/{args.level:g}/score_se", "curriculum/difficulty", "curriculum/pass_rate"]
    return run_id, {k: sorted((m.step, m.value) for m in client.get_metric_history(run_id, k)) for k in keys}


def figures(history: dict, level: float, target: float) -> dict:
    curve = history[f"eval/{level:g}/score"]
    reached = [s + 1 for s, v in curve if v >= target]
    return {
        "auc": float(np.mean([v for _, v in curve])),
        "final": curve[-1][1],
        "steps_to_target": reached[0] if reached else None,
        "curve": [[s + 1, v] for s, v in curve],
        "score_se_max": max(v for _, v in history[f"eval/{level:g}/score_se"]),
        "mean_difficulty": float(np.mean([v for _, v in history["curriculum/difficulty"]])),
        "pass_rate": float(np.mean([v for _, v in history["curriculum/pass_rate"]])),
    }


def chosen_candidates(ledger: Ledger) -> dict[str, str] | None:
    """Each family's candidate of highest mean selection AUC; None until every selection run is in."""
    chosen = {}
    for family, candidates in CANDIDATES.items():
        means = {}
        for name in candidates:
            aucs = [e["auc"] for e in ledger.runs("select") if e["candidate"] == name]
            if len(aucs) < SELECTION_PAIRS:
                return None
            means[name] = float(np.mean(aucs))
        chosen[family] = max(means, key=lambda n: means[n])
    return chosen


class Schedule:
    """The runs still to do, in order, and the clock that may stop them."""

    def __init__(self, args: argparse.Namespace, ledger: Ledger):
        self.args, self.ledger = args, ledger
        self.started = time.monotonic()
        self.done = 0

    def out_of_time(self) -> bool:
        return self.args.max_minutes is not None and time.monotonic() - self.started > 60 * self.args.max_minutes

    def run(self, pair: Pair, row: str, candidate: str, todo: int) -> bool:
        """Train one run unless the ledger has it; False once the time is up."""
        if self.ledger.run(pair.phase, candidate, row, pair.warm_start) is not None:
            return True
        if self.out_of_time():
            return False
        init = warm_start(pair, self.args, self.ledger)
        overrides = CANDIDATES[row.removesuffix("/aa")][candidate]
        began = time.monotonic()
        run_id, history = train_run(pair, row, candidate, overrides, init, self.args)
        entry = {
            "phase": pair.phase,
            "row": row,
            "candidate": candidate,
            "pair": pair.warm_start,
            "seed": pair.seed,
            "warm_start_sha256": self.ledger.warm_start(pair.warm_start)["sha256"],
            "run_id": run_id,
            "commit": commit(),
            "machine": machine(),
            "minutes": round((time.monotonic() - began) / 60, 2),
            **figures(history, self.args.level, self.args.target),
        }
        self.ledger.record_run(entry)
        self.done += 1
        elapsed = (time.monotonic() - self.started) / 60
        print(
            f"[{self.done}/{todo}] {pair.phase} {row} ({candidate}) on {pair.warm_start}: auc {entry['auc']:.1f} "
            f"final {entry['final']:.1f}  {entry['minutes']:.1f} min  (ETA {elapsed / self.done * (todo - self.done):.0f} min)",
            flush=True,
        )
        return True


def run_experiment(args: argparse.Namespace, ledger: Ledger) -> None:
    selection = [Pair("select", j) for j in range(SELECTION_PAIRS)]
    main_pairs = [Pair("main", k) for k in range(args.pairs)]
    assert seeds_are_disjoint(selection + main_pairs)
    schedule = Schedule(args, ledger)
    select_todo = [
        (p, f, c) for p in selection for f, cs in CANDIDATES.items() for c in cs if not ledger.run("select", c, f, p.warm_start)
    ]
    todo = len(select_todo) + len(main_pairs) * len(MAIN_ROWS)
    for pair, family, candidate in select_todo:
        if not schedule.run(pair, family, candidate, todo):
            return
    chosen = chosen_candidates(ledger)
    print(f"chosen on the selection pairs: {chosen}", flush=True)
    todo = schedule.done + sum(
        1 for p in main_pairs for row in MAIN_ROWS if not ledger.run("main", chosen[row.removesuffix("/aa")], row, p.warm_start)
    )
    for pair in main_pairs:
        rows = [(row, chosen[row.removesuffix("/aa")]) for row in MAIN_ROWS]
        missing = any(ledger.run("main", candidate, row, pair.warm_start) is None for row, candidate in rows)
        if missing and not schedule.out_of_time():
            warm_start(pair, args, ledger)  # first: a rebuilt warm start drops its pair's earlier runs
        for row, candidate in rows:
            if not schedule.run(pair, row, candidate, todo):
                print(f"--max-minutes {args.max_minutes} reached: the ledger holds every finished run", flush=True)
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    pilot = json.loads(PILOT.read_text())
    spread = pilot_sd(pilot)
    planned = seeds_needed(PLAN.effect, spread, PLAN.alpha, PLAN.power, comparisons=len(PLAN.comparisons))
    parser.add_argument("--pairs", type=int, default=planned, help=f"main-phase pairs (the power plan's {planned})")
    parser.add_argument("--max-minutes", type=float, default=None, help="start no run after this long")
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "goldilocks" / "bench-curriculum")
    parser.add_argument("--ledger", type=Path, default=RESULTS / "curriculum_runs.jsonl")
    parser.add_argument("--results", type=Path, default=RESULTS / "curriculum.json")
    parser.add_argument("--summarise", action="store_true", help="the JSON and figure from the ledger; no training")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    base = load_config(DEMO, args.overrides)
    args.held_out_scenarios = len(base.simulator.scenarios_of("test"))
    args.level, expert = primary_level(base)
    args.target = TARGET_SHARE * expert
    print(
        f"power plan: at the pilot's paired SD {spread:.2f} a {PLAN.effect:g}-point difference needs {planned} pairs a row "
        f"(alpha {PLAN.alpha} Holm over {len(PLAN.comparisons)}, power {PLAN.power}); running {args.pairs}",
        flush=True,
    )
    print(f"primary level d = {args.level:g} (expert {expert:.1f}); target {args.target:.1f}", flush=True)
    ledger = Ledger(args.ledger)
    if not args.summarise:
        args.out.mkdir(parents=True, exist_ok=True)
        run_experiment(args, ledger)
    protocol = {
        "level": args.level,
        "expert_score": expert,
        "target": args.target,
        "metric": f"auc: mean held-out score at d = {args.level:g} over the run's {EVALUATIONS} evaluations",
        "steps": STEPS,
        "warm_start": f"the demo job on {START_MODEL} for {WARM_START_STEPS} steps, one per pair, its own seed",
        "eval_dialogues": EVAL_PER_SCENARIO * args.held_out_scenarios,
        "candidates": CANDIDATES,
        "selection_pairs": SELECTION_PAIRS,
        "planned_pairs": planned,
        "pilot_sd": spread,
        "declared": PLAN.model_dump(),
        "pinned": PINNED,
        "overrides": args.overrides,
    }
    result = {"command": " ".join(["python", *sys.argv]), "commit": commit(), "cpu": machine(), "protocol": protocol}
    result["pilot_reanalysed"] = reanalyse_pilot(pilot)
    result |= summarise(ledger, chosen_candidates(ledger), args.results.with_suffix(".png"), planned, pilot)
    args.results.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
