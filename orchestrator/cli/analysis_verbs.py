"""`goldilocks compare` and `power`: verdicts on finished runs, and the seeds a claim needs
before anyone runs them (orchestrator/stats)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.cli.common import ConfigOpt, SetOpt, _config, _fail, app, console


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _interval(low: float, high: float) -> str:
    return "(-inf, inf)" if math.isinf(low) else f"[{low:+.2f}, {high:+.2f}]"


@app.command()
def compare(
    runs: Annotated[list[str], typer.Argument(help="MLflow run ids; a sweep's parent run stands for its trials.")],
    against: Annotated[str | None, typer.Option(help="Reference row (default: the runs' analysis.reference).")] = None,
    metric: Annotated[str | None, typer.Option(help="Metric (default: the runs' analysis.metric).")] = None,
    reduce: Annotated[str | None, typer.Option(help="mean (area under the curve) or last (default: analysis.reduce).")] = None,
    margin: Annotated[float | None, typer.Option(help="Equivalence margin (default: analysis.margin).")] = None,
    alpha: Annotated[float | None, typer.Option(help="Family-wise error rate (default: analysis.alpha).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write every verdict's numbers here.")] = None,
    figure: Annotated[Path | None, typer.Option(help="Write the figure (every unit's difference as a dot) here.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Paired verdicts on finished runs: t and exact intervals, Holm over the declared comparisons,
    TOST for ties, the smallest effect the seeds could detect, and the seeds a declared effect needs."""
    from mlflow import MlflowClient

    from orchestrator.stats.comparison import judge
    from orchestrator.tracking.run_comparison import NotComparable, read_runs
    from orchestrator.tracking.verdict_plot import plot_verdicts

    cfg = _config(config, set_)
    client = MlflowClient(tracking_uri=cfg.tracking.uri)
    flags = {"reference": against, "metric": metric, "reduce": reduce, "margin": margin, "alpha": alpha}
    try:
        found = read_runs(client, runs, flags)
        plan = found.plan
        if plan.reference is None:
            raise NotComparable(f"no reference row: pass --against ROW (rows: {', '.join(sorted(found.rows))})")
        if plan.reference not in found.rows:
            raise NotComparable(f"--against {plan.reference}: no such row (rows: {', '.join(sorted(found.rows))})")
        if not plan.comparisons or not found.declared:
            plan = plan.model_copy(update={"comparisons": sorted(r for r in found.rows if r != plan.reference)})
        verdicts = judge(found.data, plan)
    except ValueError as exc:
        _fail(str(exc))
    if not found.declared:
        console.print(
            "[yellow]not declared before the runs[/]: the runs' config named no analysis.reference and "
            "analysis.comparisons, or a flag changed them; Holm covers every row compared here"
        )
    table = Table(title=f"{plan.metric} ({plan.reduce} over evaluations), against {plan.reference}")
    columns = ("row", "metric", "n", "difference [95% t]", "exact interval", "p t / exact", "TOST p", "claim", "MDE", "P(better)")
    for column in columns:
        table.add_column(column)
    for v in verdicts:
        t = v.test
        table.add_row(
            v.row,
            v.metric,
            f"{t.pairs} {v.unit}s" + ("" if v.unit == "pair" else f" ({v.pairs} pairs, {v.warm_starts} warm starts)"),
            f"{t.mean:+.2f} {_interval(t.t_low, t.t_high)}",
            _interval(t.exact_low, t.exact_high),
            f"{_p(v.holm_t_p)} / {_p(v.holm_exact_p)}" + (" Holm" if v.family == "primary" else ""),
            _p(v.holm_tost_p),
            v.claim,
            f"{v.mde:.2f}",
            f"{v.poi:.2f} [{v.poi_low:.2f}, {v.poi_high:.2f}]",
        )
    console.print(table)
    if any(v.unit == "seed" for v in verdicts):
        console.print(
            "[yellow]one warm start[/]: these verdicts hold for that warm start; the variance between warm starts was not sampled"
        )
    primary = [v for v in verdicts if v.family == "primary"]
    looks = {v.look for v in primary}
    if "interim" in looks:
        console.print(
            f"[yellow]interim look[/]: {min(v.pairs for v in primary)} of the {plan.planned_units} pairs planned "
            "(analysis.planned_units); its claims are not verdicts: stopping at the first look that shows a "
            f"difference would be wrong more often than alpha {plan.alpha:g}"
        )
    elif "past the plan" in looks:
        console.print(
            f"[yellow]past the plan[/]: {max(v.pairs for v in primary)} pairs where {plan.planned_units} were planned; "
            "the verdicts are those of the look at the planned pairs"
        )
    elif "unplanned" in looks:
        console.print(
            "[yellow]no planned pairs[/] (analysis.planned_units unset): this look is taken as the last; declare the "
            "pairs before the runs (goldilocks power) so that an early look is known as one"
        )
    for v in verdicts:
        if v.family == "primary" and v.claim.startswith("inconclusive") and v.units_for_effect:
            console.print(
                f"{v.row}: a {plan.effect:g}-point difference would need {v.units_for_effect} {v.unit}s at this spread "
                f"(sd {v.test.sd:.2f}); {v.test.pairs} ran, which detect {v.mde:.2f} with power {plan.power:g}"
            )
    if json_out:
        report = {"plan": plan.model_dump(), "declared": found.declared, "verdicts": [v.as_dict() for v in verdicts]}
        json_out.write_text(json.dumps(report, indent=1))
        console.print(f"wrote {json_out}")
    if figure:
        console.print(f"wrote {plot_verdicts(verdicts, figure, f'against {plan.reference}')}")


@app.command()
def power(
    sd: Annotated[float, typer.Option(help="SD of the paired differences (from a pilot, or `compare`).", min=0.0)],
    effect: Annotated[float, typer.Option(help="Smallest difference worth detecting.")] = 3.0,
    comparisons: Annotated[int, typer.Option(min=1, help="Comparisons in the Holm family.")] = 1,
    alpha: Annotated[float, typer.Option(help="Family-wise error rate.")] = 0.05,
    target: Annotated[float, typer.Option("--power", help="Power to plan for.")] = 0.8,
    pairs: Annotated[int | None, typer.Option(min=2, help="Also: the smallest effect this many pairs detect.")] = None,
) -> None:
    """Seeds a row needs before running: a two-sided paired t test with Holm over the family."""
    from orchestrator.stats.power import minimum_detectable_effect, seeds_needed

    if sd <= 0:
        _fail("--sd must be positive: the spread of paired differences, from a pilot")
    try:
        needed = seeds_needed(effect, sd, alpha, target, comparisons)
    except ValueError as exc:
        _fail(str(exc))
    console.print(
        f"a {effect:g}-point difference at sd {sd:g} needs {needed} pairs a row "
        f"(alpha {alpha:g}, Holm over {comparisons}, power {target:g}); declare it before the runs: "
        f"--set analysis.planned_units={needed}"
    )
    if pairs:
        mde = minimum_detectable_effect(sd, pairs, alpha, target, comparisons)
        console.print(f"{pairs} pairs detect {mde:.2f} with that power")
