"""A declared comparison set judged: each verdict with its interval, its correction, the effect
it could have detected, and only the claim the numbers support.

The claim rule, fixed here for every experiment:

* **better / worse**: the Holm-adjusted p of the t test *and* of the exact sign-flip test are
  both below alpha. The t test gives the interval shown; the exact test guards the t test's
  normality assumption at small n. (At n = 5 the exact test cannot reject at 0.05, so five seeds
  never carry a claim.)
* **equivalent**: TOST against the declared margin, Holm-adjusted, below alpha.
* **inconclusive**: anything else; the report then says what n the declared effect would need.

A look at fewer pairs than `analysis.planned_units` is an interim look, for the whole primary
family (Holm ties its p-values together): its claims say so, since a procedure that stops at the
first look showing a difference errs more often than alpha (the calibration measures how much:
`peeking_false_positive_rate`). A look past the planned pairs is labelled too: running on after
the planned look is a second look.

Comparisons outside the declared family (secondary metrics, rows not declared) get the same
numbers with unadjusted p-values and the label `exploratory`: they suggest, they do not claim.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Literal

from orchestrator.stats.analysis_config import AnalysisConfig
from orchestrator.stats.hierarchical import PairKey, hierarchical_interval, paired_units, probability_of_improvement
from orchestrator.stats.multiplicity import holm
from orchestrator.stats.paired import PairedTest, paired_test
from orchestrator.stats.power import minimum_detectable_effect, seeds_needed

RowValues = Mapping[PairKey, float]


@dataclass(frozen=True)
class Verdict:
    row: str
    reference: str
    metric: str
    family: str
    """`primary` (declared, corrected) or `exploratory`."""
    test: PairedTest
    unit: str
    warm_starts: int
    pairs: int
    holm_t_p: float
    holm_exact_p: float
    holm_tost_p: float
    claim: str
    mde: float
    """Smallest true difference these units detect with the planned power, at the family's level."""
    units_for_effect: int | None
    """Units (pairs, or warm starts) the declared effect would need at the spread seen here."""
    poi: float
    poi_low: float
    poi_high: float
    differences: list[float]
    """Each unit's difference, for figures that show every seed."""
    look: Literal["planned", "interim", "past the plan", "unplanned"] = "unplanned"
    """Where this look stands against the plan: its family's pairs at, below or above it, or no plan."""

    @property
    def interim(self) -> bool:
        return self.look == "interim"

    def as_dict(self) -> dict:
        out = asdict(self)
        out |= out.pop("test")
        out["interim"] = self.interim
        return out

    def sentence(self) -> str:
        """One line a README can quote."""
        t = self.test
        interval = f"{t.mean:+.1f} [{t.t_low:+.1f}, {t.t_high:+.1f}]"
        correction = "Holm" if self.family == "primary" else "uncorrected, exploratory"
        return (
            f"{self.row} - {self.reference} on {self.metric}: {interval} (t 95 %, n = {t.pairs} {self.unit}s); "
            f"p = {self.holm_t_p:.3f} t / {self.holm_exact_p:.3f} exact ({correction}); {self.claim}; "
            f"MDE {self.mde:.1f}"
        )


def judge(
    data: Mapping[str, Mapping[str, RowValues]], plan: AnalysisConfig, exploratory_rows: list[str] | None = None
) -> list[Verdict]:
    """data[metric][row][(warm start, seed)] = the run's value. The primary family is
    plan.comparisons against plan.reference on plan.metric; every other (row, metric) pair asked
    for (secondary metrics, `exploratory_rows`) is exploratory."""
    if plan.reference is None:
        raise ValueError("analysis.reference: no reference row declared to compare against")
    for metric in (plan.metric, *plan.secondary_metrics):
        rows = data.get(metric)
        if rows is None:
            raise ValueError(f"analysis: no run has values of metric {metric!r}")
        missing = [r for r in (plan.reference, *plan.comparisons) if r not in rows]
        if missing:
            raise ValueError(f"analysis: no runs of row(s) {', '.join(missing)} for {metric} (rows: {', '.join(sorted(rows))})")
    family = len(plan.comparisons)
    verdicts = _corrected([_raw(r, plan.reference, plan.metric, data, plan, "primary", family) for r in plan.comparisons], plan)
    extra_rows = [r for r in (exploratory_rows or []) if r not in (plan.reference, *plan.comparisons)]
    asked = [(r, m) for m in plan.secondary_metrics for r in plan.comparisons]
    asked += [(r, m) for r in extra_rows for m in (plan.metric, *plan.secondary_metrics)]
    for row, metric in asked:
        if row not in data[metric]:
            raise ValueError(f"analysis: no runs of row {row} for {metric}")
        verdicts += _corrected([_raw(row, plan.reference, metric, data, plan, "exploratory", 1)], plan)
    return verdicts


def _raw(row: str, reference: str, metric: str, data, plan: AnalysisConfig, family: str, family_size: int) -> Verdict:
    """The comparison's verdict before its family's correction: p-values as measured, no claim."""
    values, ref = data[metric][row], data[metric][reference]
    units = paired_units(values, ref)
    test = paired_test(units.values, units.reference, margin=plan.margin)
    n = len(units.values)
    if math.isnan(test.sd):
        mde, needed = math.inf, None
    else:
        mde = minimum_detectable_effect(test.sd, n, plan.alpha, plan.power, family_size)
        needed = seeds_needed(plan.effect, test.sd, plan.alpha, plan.power, family_size) if test.sd > 0 else n
    poi, poi_low, poi_high = hierarchical_interval(values, ref, probability_of_improvement, resamples=2_000)
    return Verdict(
        row=row,
        reference=reference,
        metric=metric,
        family=family,
        test=test,
        unit=units.unit,
        warm_starts=units.warm_starts,
        pairs=units.pairs,
        holm_t_p=test.t_p,
        holm_exact_p=test.exact_p,
        holm_tost_p=test.tost_p if test.tost_p is not None else 1.0,
        claim="",
        mde=mde,
        units_for_effect=needed,
        poi=poi,
        poi_low=poi_low,
        poi_high=poi_high,
        differences=[float(x) for x in units.values - units.reference],
    )


def _corrected(raws: list[Verdict], plan: AnalysisConfig) -> list[Verdict]:
    """Holm over a primary family (an exploratory one keeps its p-values), and each claim."""
    if not raws:
        return []
    primary = raws[0].family == "primary"
    adjust = holm if primary else (lambda ps: list(ps))
    t_p = adjust([r.holm_t_p for r in raws])
    exact_p = adjust([r.holm_exact_p for r in raws])
    tost = adjust([r.holm_tost_p for r in raws])
    look, label = _look([r.pairs for r in raws], plan.planned_units)
    return [
        replace(r, holm_t_p=tp, holm_exact_p=ep, holm_tost_p=qp, look=look, claim=_claim(r, tp, ep, qp, plan) + label)
        for r, tp, ep, qp in zip(raws, t_p, exact_p, tost, strict=True)
    ]


def _look(pairs: list[int], planned: int | None) -> tuple[str, str]:
    """A family's look against the plan, and the label its claims carry."""
    if planned is None:
        return "unplanned", ""
    if min(pairs) < planned:
        return "interim", f" (interim: {min(pairs)} of {planned} pairs)"
    if max(pairs) > planned:
        return "past the plan", f" (past the plan: {max(pairs)} of {planned} pairs)"
    return "planned", ""


def _claim(verdict: Verdict, t_p: float, exact_p: float, tost_p: float, plan: AnalysisConfig) -> str:
    if t_p < plan.alpha and exact_p < plan.alpha:
        claim = "better" if verdict.test.mean > 0 else "worse"
    elif tost_p < plan.alpha:
        claim = f"equivalent within +-{plan.margin:g}"
    else:
        claim = "inconclusive"
    return claim if verdict.family == "primary" else f"{claim} (exploratory)"
