"""A declared comparison set judged: each verdict with its interval, its correction, the effect
it could have detected, and only the claim the numbers support.

The claim rule, fixed here for every experiment:

* **better / worse**: the Holm-adjusted p of the t test *and* of the exact sign-flip test are
  both below alpha. The t test gives the interval shown; the exact test guards the t test's
  normality assumption at small n. (At n = 5 the exact test cannot reject at 0.05, so five seeds
  never carry a claim.)
* **equivalent**: TOST against the declared margin, Holm-adjusted, below alpha.
* **inconclusive**: anything else; the report then says what n the declared effect would need.

Comparisons outside the declared family (secondary metrics, rows not declared) get the same
numbers with unadjusted p-values and the label `exploratory`: they suggest, they do not claim.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

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

    def as_dict(self) -> dict:
        out = asdict(self)
        out |= out.pop("test")
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
    primary = [_raw(r, plan.reference, plan.metric, data, plan, len(plan.comparisons)) for r in plan.comparisons]
    verdicts = _corrected(primary, plan, "primary")
    extra_rows = [r for r in (exploratory_rows or []) if r not in (plan.reference, *plan.comparisons)]
    asked = [(r, m) for m in plan.secondary_metrics for r in plan.comparisons]
    asked += [(r, m) for r in extra_rows for m in (plan.metric, *plan.secondary_metrics)]
    for row, metric in asked:
        if row not in data[metric]:
            raise ValueError(f"analysis: no runs of row {row} for {metric}")
        verdicts += _corrected([_raw(row, plan.reference, metric, data, plan, 1)], plan, "exploratory")
    return verdicts


@dataclass(frozen=True)
class _Raw:
    row: str
    metric: str
    test: PairedTest
    unit: str
    warm_starts: int
    pairs: int
    mde: float
    units_for_effect: int | None
    poi: tuple[float, float, float]
    differences: list[float]


def _raw(row: str, reference: str, metric: str, data, plan: AnalysisConfig, family_size: int) -> _Raw:
    values, ref = data[metric][row], data[metric][reference]
    units = paired_units(values, ref)
    test = paired_test(units.values, units.reference, margin=plan.margin)
    n = len(units.values)
    sd = test.sd if n > 1 and not math.isnan(test.sd) else math.nan
    if math.isnan(sd):
        mde, needed = math.inf, None
    else:
        mde = minimum_detectable_effect(sd, n, plan.alpha, plan.power, family_size)
        needed = seeds_needed(plan.effect, sd, plan.alpha, plan.power, family_size) if sd > 0 else n
    poi = hierarchical_interval(values, ref, probability_of_improvement, resamples=2_000)
    diffs = [float(x) for x in units.values - units.reference]
    return _Raw(row, metric, test, units.unit, units.warm_starts, units.pairs, mde, needed, poi, diffs)


def _corrected(raws: list[_Raw], plan: AnalysisConfig, family: str) -> list[Verdict]:
    if not raws:
        return []
    adjust = holm if family == "primary" else (lambda ps: list(ps))
    t_p = adjust([r.test.t_p for r in raws])
    exact_p = adjust([r.test.exact_p for r in raws])
    tost = adjust([r.test.tost_p if r.test.tost_p is not None else 1.0 for r in raws])
    verdicts = []
    for r, tp, ep, qp in zip(raws, t_p, exact_p, tost, strict=True):
        verdicts.append(
            Verdict(
                row=r.row,
                reference=plan.reference or "",
                metric=r.metric,
                family=family,
                test=r.test,
                unit=r.unit,
                warm_starts=r.warm_starts,
                pairs=r.pairs,
                holm_t_p=tp,
                holm_exact_p=ep,
                holm_tost_p=qp,
                claim=_claim(r.test, tp, ep, qp, plan, family),
                mde=r.mde,
                units_for_effect=r.units_for_effect,
                poi=r.poi[0],
                poi_low=r.poi[1],
                poi_high=r.poi[2],
                differences=r.differences,
            )
        )
    return verdicts


def _claim(test: PairedTest, t_p: float, exact_p: float, tost_p: float, plan: AnalysisConfig, family: str) -> str:
    if t_p < plan.alpha and exact_p < plan.alpha:
        claim = "better" if test.mean > 0 else "worse"
    elif tost_p < plan.alpha:
        claim = f"equivalent within +-{plan.margin:g}"
    else:
        claim = "inconclusive"
    return claim if family == "primary" else f"{claim} (exploratory)"
