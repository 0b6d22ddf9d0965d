"""The `curriculum:` section of the experiment config: which controller moves the difficulty, and its
knobs (orchestrator/config.py loads it)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from workers.config_section import ConfigSection


class CurriculumConfig(ConfigSection):
    controller: Literal["fixed", "linear", "adarft", "band", "progress", "per_scenario", "tpe", "gp"] = Field(
        "fixed", description="Difficulty controller (orchestrator/curriculum/controllers.py)."
    )
    initial_difficulty: float = Field(0.3, ge=0, le=1, description="Difficulty of step 0 (and all steps for `fixed`).")
    final_difficulty: float = Field(0.8, ge=0, le=1, description="`linear`: difficulty of the last step.")
    band: tuple[float, float] = Field((0.4, 0.6), description="Target band [low, high] of the batch pass rate.")
    signal: Literal["pass_rate", "informative_frac"] = Field(
        "pass_rate",
        description="What the controller steers: the batch pass rate into `band`, or the share of groups with mixed "
        "outcomes up to at least what a pass rate at the band's edges gives (band, tpe, gp).",
    )
    window: int = Field(12, ge=1, description="`band`, `per_scenario`: recent steps the pass-rate fit looks at.")
    decay: Annotated[float, Field(gt=0, le=1)] | Literal["auto"] = Field(
        "auto",
        description="`band`: per-step recency weight of that evidence; `auto` picks, every step, the weight whose "
        "one-step-ahead forecasts of recent steps were best.",
    )
    max_step: float = Field(
        0.1,
        gt=0,
        le=1,
        description="`band`, `per_scenario` (per bucket), the entropy guard's easing: largest difficulty change per step.",
    )
    bucket_by: Literal["personality", "need_personality"] = Field(
        "personality",
        description="`per_scenario`: the scenario buckets that get a level each. need_personality reveals the need "
        "through what the level changes in the user's opening (README, per_scenario); personality cannot.",
    )
    stuck_after: int = Field(
        10,
        ge=1,
        description="Steps a scenario bucket (bucket_by) passes nothing while another passes at its level or harder, "
        "with no pass of its own in between (steps without it do not count), before it is counted in "
        "curriculum/stuck_buckets and warned about: a grader or format bug, not difficulty.",
    )
    spread: float = Field(0.0, ge=0, le=0.5, description="Per-group difficulty jitter (+-), so a batch measures nearby levels.")
    entropy_floor: float | None = Field(
        None,
        gt=0,
        description="Entropy guard (any controller; off: null): while the policy's mean token entropy is below this, "
        "the difficulty is held, and after `entropy_patience` such steps eased by `max_step` a step until it recovers.",
    )
    entropy_patience: int = Field(3, ge=0, description="Steps below `entropy_floor` that hold the difficulty before it eases.")
    progress_levels: list[float] = Field(
        [0.1, 0.3, 0.5, 0.7, 0.9],
        min_length=2,
        description="`progress`: the difficulties its bandit chooses between (ascending, in [0, 1]).",
    )
    progress_window: int = Field(
        4, ge=2, description="`progress`: latest steps at a level whose reward slope is its learning progress."
    )
    progress_epsilon: float = Field(
        0.2, ge=0, le=1, description="`progress`: share of steps at a level drawn at random, so stale slopes refresh."
    )
    adarft_eta: float = Field(0.5, gt=0, description="`adarft`: step size eta (the paper's 50 on a 0-100 scale).")
    adarft_alpha: float = Field(2.0, gt=0, description="`adarft`: sensitivity alpha.")
    storage: str | None = Field(
        None,
        description="Optuna storage of the controller's study: an RDB URL or a journal file `*.log` "
        "(default: sqlite in the run dir).",
    )

    @model_validator(mode="after")
    def _band_ordered(self) -> CurriculumConfig:
        low, high = self.band
        if not 0.0 < low <= high < 1.0:
            raise ValueError(f"band must satisfy 0 < low <= high < 1, got [{low}, {high}]")
        if self.controller == "per_scenario" and (self.signal != "pass_rate" or self.spread > 0):
            raise ValueError(
                "per_scenario sets every group's own difficulty from its bucket's pass counts: it takes signal=pass_rate "
                "and no spread"
            )
        levels = self.progress_levels
        if sorted(set(levels)) != levels or not 0.0 <= levels[0] <= levels[-1] <= 1.0:
            raise ValueError(f"progress_levels must be distinct, ascending and in [0, 1], got {levels}")
        if self.signal == "informative_frac" and self.controller == "adarft":
            raise ValueError(
                "signal=informative_frac does not say whether a batch was too easy or too hard, which adarft's rule "
                "needs; use it with band, tpe or gp"
            )
        return self
