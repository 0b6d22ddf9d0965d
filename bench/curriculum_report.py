"""The curriculum experiment's results from its ledger: the selection, each row, the declared
verdicts, the A/A and the procedure's measured false-positive rate, and the figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats

from bench.curriculum_design import AA_ROW, CANDIDATES, MAIN_ROWS, PLAN, Ledger
from orchestrator.stats.analysis_config import AnalysisConfig
from orchestrator.stats.calibration import (
    peeking_false_positive_rate,
    resampled_false_positive_rate,
    simulated_false_positive_rate,
)
from orchestrator.stats.comparison import judge
from orchestrator.stats.hierarchical import paired_units
from orchestrator.stats.paired import t_interval
from orchestrator.stats.power import minimum_detectable_effect
from orchestrator.tracking.verdict_plot import plot_verdicts

METRICS = ("auc", "final")


def selection(ledger: Ledger, chosen: dict[str, str] | None) -> dict:
    out = {}
    for family, candidates in CANDIDATES.items():
        out[family] = {
            name: {
                "auc_per_pair": [e["auc"] for e in ledger.runs("select") if e["candidate"] == name],
                "chosen": bool(chosen and chosen.get(family) == name),
            }
            for name in candidates
        }
        for entry in out[family].values():
            entry["mean_auc"] = float(np.mean(entry["auc_per_pair"])) if entry["auc_per_pair"] else None
    return out


def by_row(ledger: Ledger) -> dict[str, dict[str, dict]]:
    """data[metric][row][(warm start, seed)] from the main phase's runs."""
    data: dict[str, dict[str, dict]] = {m: {} for m in METRICS}
    for e in ledger.runs("main"):
        for metric in METRICS:
            data[metric].setdefault(e["row"], {})[(e["pair"], e["seed"])] = e[metric]
    return data


def row_summary(ledger: Ledger, row: str) -> dict:
    runs = [e for e in ledger.runs("main") if e["row"] == row]
    aucs = np.array([e["auc"] for e in runs])
    low, high, _ = t_interval(aucs) if len(aucs) > 1 else (math.nan, math.nan, 1.0)
    return {
        "candidate": runs[0]["candidate"] if runs else None,
        "pairs": len(runs),
        "auc_mean": float(aucs.mean()) if len(aucs) else None,
        "auc_mean_t95": [low, high] if len(aucs) > 1 else None,
        "auc_iqm": float(stats.trim_mean(aucs, 0.25)) if len(aucs) else None,
        "final_mean": float(np.mean([e["final"] for e in runs])) if runs else None,
        "mean_difficulty": float(np.mean([e["mean_difficulty"] for e in runs])) if runs else None,
        "pass_rate": float(np.mean([e["pass_rate"] for e in runs])) if runs else None,
        "score_se_max": max((e["score_se_max"] for e in runs), default=None),
        "per_pair": {e["pair"]: {"auc": e["auc"], "final": e["final"]} for e in runs},
    }


def aa_verdicts(data: dict, plan: AnalysisConfig = PLAN) -> list:
    """The A/A row judged against its twin, as a family of its own."""
    return judge(data, plan.model_copy(update={"reference": "band", "comparisons": [AA_ROW], "secondary_metrics": []}))


def aa_differences(data: dict) -> list[float]:
    """A/A row minus its twin, one value per unit (the real null's draws)."""
    if AA_ROW not in data["auc"] or "band" not in data["auc"]:
        return []
    units = paired_units(data["auc"][AA_ROW], data["auc"]["band"])
    return [float(x) for x in units.values - units.reference]


def calibration(pairs: int, sd: float, real_aa: list[float], source: str, planned: int) -> dict:
    """The claim rule's false-positive rate on the declared family at `pairs` pairs: A/A families
    simulated at spread `sd` (normal, t3) and resampled from real A/A differences; and, at the
    `planned` pairs, the rate of judging after every pair and stopping at a claim (`peeking`),
    which is why a look before the planned pairs is interim."""
    m = len(PLAN.comparisons)
    simulated = [simulated_false_positive_rate(sd, pairs, m, PLAN.alpha, draws=2000, distribution=d) for d in ("normal", "t3")]
    peeking = peeking_false_positive_rate(sd, planned, m, first=2, alpha=PLAN.alpha, draws=2000)
    out: dict = {"at": source, "simulated": [rate.as_dict() for rate in simulated], "peeking": peeking.as_dict()}
    if len(real_aa) >= 3:
        out["real_aa"] = resampled_false_positive_rate(real_aa, pairs, m, PLAN.alpha, draws=2000).as_dict()
    return out


def plot_curves(ledger: Ledger, path: Path) -> Path:
    """The main phase's held-out curves by row; before it has runs, the selection's by candidate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phase = "main" if ledger.runs("main") else "select"
    key = "row" if phase == "main" else "candidate"
    groups = MAIN_ROWS if phase == "main" else [c for candidates in CANDIDATES.values() for c in candidates]
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, group in enumerate(groups):
        curves = [e["curve"] for e in ledger.runs(phase) if e[key] == group]
        if not curves:
            continue
        colour = plt.get_cmap("tab20")(i % 20)
        for curve in curves:
            ax.plot([s for s, _ in curve], [v for _, v in curve], color=colour, alpha=0.15, linewidth=0.8)
        steps = [s for s, _ in curves[0]]
        mean = np.mean([[v for _, v in c] for c in curves], axis=0)
        ax.plot(steps, mean, color=colour, linewidth=2, label=f"{group} ({len(curves)} pairs)")
    ax.set(xlabel="training steps", ylabel="held-out score at the primary level (faint: each pair; bold: mean)")
    ax.set_title(f"{phase} phase", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def pilot_data(pilot: dict) -> dict[str, dict[str, dict]]:
    """The pilot's per-seed values (one shared warm start) as data[metric][row][(warm start, seed)]."""
    start = pilot["protocol"]["init_policy"]
    seeds = pilot["protocol"]["seeds"]
    return {
        metric: {
            row: {(start, s): v for s, v in zip(seeds, values[f"{metric}_per_seed"], strict=True)}
            for row, values in pilot["controllers"].items()
        }
        for metric in METRICS
    }


def reanalyse_pilot(pilot: dict) -> dict:
    """The pilot (5 seeds, one warm start) judged as the current rules judge: every comparison it
    reported against its best fixed level as one Holm family, its A/A, and what 5 seeds detect."""
    data = pilot_data(pilot)
    reference = pilot["best_fixed"]
    others = [r for r in data["auc"] if r != reference and not r.endswith("/aa")]
    plan = PLAN.model_copy(update={"reference": reference, "comparisons": others})
    verdicts = judge(data, plan)
    aa = aa_verdicts(data)
    return {
        "source": "bench/results/curriculum_pilot.json",
        "declared_after_the_runs": True,
        "verdicts": [v.as_dict() for v in verdicts],
        "aa": [v.as_dict() | {"family": "A/A"} for v in aa],
        "sentences": [v.sentence() for v in verdicts + aa],
    }


def pilot_sd(pilot: dict) -> float:
    """The planner's input: the largest SD of the pilot's paired AUC differences among the rows
    the experiment declares (band and progress against the pilot's best fixed level)."""
    data = pilot_data(pilot)["auc"]
    reference = data[pilot["best_fixed"]]
    sds = []
    for row in PLAN.comparisons:
        units = paired_units(data[row], reference)
        sds.append(float(np.std(units.values - units.reference, ddof=1)))
    return max(sds)


def pairs_across_machines(ledger: Ledger) -> list[str]:
    """Pairs whose rows ran on more than one CPU (runs from before the field count as one
    unrecorded machine): their differences hold a machine effect beside the schedule's, since
    bf16 kernels differ between CPUs. A session should finish the pair it starts."""
    machines: dict[str, set[str]] = {}
    for entry in ledger.runs("select") + ledger.runs("main"):
        machines.setdefault(entry["pair"], set()).add(entry.get("machine", "unrecorded"))
    return sorted(pair for pair, seen in machines.items() if len(seen) > 1)


def summarise(ledger: Ledger, chosen: dict[str, str] | None, figure: Path, planned_pairs: int, pilot: dict) -> dict:
    """Everything the bench's JSON holds. Until the main phase has verdicts, the calibration is
    measured at the planned design: the planned pairs, the pilot's spread and its A/A."""
    data = by_row(ledger)
    result: dict = {
        "selection": selection(ledger, chosen),
        "chosen": chosen,
        "rows": {row: row_summary(ledger, row) for row in MAIN_ROWS},
        "warm_starts": len({e["pair"] for e in ledger.runs("main")}),
        "pairs_across_machines": pairs_across_machines(ledger),
    }
    ready = all(len(data["auc"].get(r, {})) >= 2 for r in (PLAN.reference, *PLAN.comparisons))
    plot_curves(ledger, figure)
    if not ready:
        result["verdicts"] = []
        result["status"] = "pending: the declared rows have fewer than 2 common pairs"
        result["calibration"] = calibration(
            planned_pairs,
            pilot_sd(pilot),
            aa_differences(pilot_data(pilot)),
            "the planned pairs, the pilot's spread and A/A",
            planned_pairs,
        )
        return result
    plan = PLAN.model_copy(update={"planned_units": planned_pairs})
    verdicts = judge(data, plan)
    aa = aa_verdicts(data, plan) if len(data["auc"].get(AA_ROW, {})) >= 2 else []
    result["verdicts"] = [v.as_dict() for v in verdicts]
    result["aa"] = [v.as_dict() | {"family": "A/A"} for v in aa]
    result["sentences"] = [v.sentence() for v in verdicts + aa]
    primary = [v for v in verdicts if v.family == "primary"]
    result["mde_at_pairs_run"] = {
        v.row: minimum_detectable_effect(v.test.sd, v.test.pairs, PLAN.alpha, PLAN.power, len(PLAN.comparisons)) for v in primary
    }
    result["calibration"] = calibration(
        min(v.test.pairs for v in primary),
        max(v.test.sd for v in primary),
        aa_differences(data) or aa_differences(pilot_data(pilot)),
        "the pairs run, their largest spread; the A/A of these runs (the pilot's until they have one)",
        planned_pairs,
    )
    result["status"] = "partial" if any(v.interim for v in primary) else "complete"
    plot_verdicts(verdicts + aa, figure.with_name(figure.stem + "_verdicts.png"), "paired differences, every pair a dot")
    return result
