"""The `analysis:` section of the experiment config: the comparison set, declared before the runs.

Every run logs its flattened config as MLflow params, so the declaration travels with the runs it
governs: `goldilocks compare` reads it from them, and a comparison chosen after seeing the data
can only be made with flags, which the report then labels as not declared.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workers.config_section import ConfigSection


class AnalysisConfig(ConfigSection):
    row: str | None = Field(
        None,
        description="This run's row in a comparison (e.g. `band`); runs of one row differ only by seed and warm start. "
        "Unset: `goldilocks compare` names rows by the settings that differ between the runs.",
    )
    metric: str = Field(
        "eval/0.8/score", description="Primary metric: an MLflow metric logged at evaluations (eval/<level>/<name>)."
    )
    reduce: Literal["mean", "last"] = Field(
        "mean",
        description="A run's value of a metric: `mean` over its evaluations (the area under the learning curve) or the "
        "`last` one.",
    )
    reference: str | None = Field(None, description="The row every declared comparison is made against.")
    comparisons: list[str] = Field(
        [],
        description="Rows compared with `reference` on `metric`: the primary family, Holm-corrected together. "
        "Everything else a report shows is labelled exploratory.",
    )
    secondary_metrics: list[str] = Field([], description="Further metrics reported for the same rows, exploratory.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Family-wise error rate of the primary comparisons.")
    margin: float = Field(
        2.0, gt=0, description="Equivalence margin (metric units): a tie is claimed only when TOST shows |difference| < margin."
    )
    effect: float = Field(3.0, gt=0, description="Smallest difference worth detecting: the power planner sizes seeds for it.")
    power: float = Field(0.8, gt=0, lt=1, description="Power the planner aims at for `effect`.")
    pilot_sd: float | None = Field(
        None, gt=0, description="SD of the paired differences in a pilot: `goldilocks power` sizes the rows from it."
    )
    planned_units: int | None = Field(
        None,
        ge=2,
        description="Pairs a row is to have (seeds, under one warm start), fixed before the runs (`goldilocks power` "
        "sizes it). With fewer, `goldilocks compare` calls its claims interim: stopping at the first look that claims "
        "something would be wrong more often than `alpha`. Unset: every look is taken as the last.",
    )

    @model_validator(mode="after")
    def _reference_is_not_compared_with_itself(self) -> AnalysisConfig:
        if self.reference is not None and self.reference in self.comparisons:
            raise ValueError(f"comparisons lists the reference row {self.reference!r}; a row is not compared with itself")
        if len(set(self.comparisons)) != len(self.comparisons):
            raise ValueError(f"comparisons names a row twice: {self.comparisons}")
        return self
