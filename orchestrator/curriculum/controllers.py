"""Difficulty controllers. Every step's decision is a trial of one persistent Optuna study:
`propose` asks it for a difficulty, `observe` tells it how far the batch landed from its target
(0 inside: the pass rate in `curriculum.band`, or under `curriculum.signal=informative_frac` the
share of mixed-outcome groups at least what the band's edges give), with the step's evidence as
trial user attributes.

Chosen by `curriculum.controller`:

* `fixed`, `linear` - schedules blind to the pass rate (the baselines);
* `adarft` - AdaRFT's published rule (arXiv 2504.05520), the peer to beat;
* `band` - ours (band_sampler.py): fits pass rate vs difficulty over a recency-weighted window and
  aims at the band centre;
* `progress` - a bandit over a few levels that trains where the batch reward rises fastest
  (progress_bandit.py), blind to the band;
* `per_scenario` - each group at its own level, from its scenario bucket's pass curve
  (scenario_planner.py); the step's trial holds the mean level and every group's bucket;
* `tpe`, `gp` - Optuna's own samplers on the same objective, which assume it does not drift.

Schedules and rules enqueue their value, so their history lands in the study like everyone
else's. With `curriculum.entropy_floor` set, an entropy guard overrides any of them while the
policy's entropy is below the floor (`EntropyGuard`), enqueueing its value the same way. The
study is the controller's whole state: a resumed run re-opens it by name (the MLflow run id) and
continues where it stopped; a step that was asked but never told is marked failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from orchestrator.config import ExperimentConfig
from orchestrator.curriculum.band_sampler import BandSampler
from orchestrator.curriculum.optuna_storage import open_run_storage
from orchestrator.curriculum.pass_curve import adarft_step, band_distance, informative_fraction, sampling_noise_var
from orchestrator.curriculum.progress_bandit import choose_level
from orchestrator.curriculum.scenario_planner import ScenarioPlanner
from orchestrator.curriculum.study_records import (
    ENTROPY_ATTR,
    GROUP_BUCKETS_ATTR,
    GROUP_POINTS_ATTR,
    REWARD_ATTR,
    STEP_ATTR,
    rewind,
    trials_on_record,
)

DIFFICULTY = "difficulty"
_DISTRIBUTIONS = {DIFFICULTY: FloatDistribution(0.0, 1.0)}


@dataclass(frozen=True)
class BatchStats:
    pass_rate: float
    informative_group_frac: float
    reward_mean: float
    group_difficulties: tuple[float, ...] = ()
    group_passes: tuple[int, ...] = ()
    group_size: int = 1
    group_buckets: tuple[str, ...] = ()
    """Each group's scenario bucket (`curriculum.bucket_by`), when the driver knows it."""

    @property
    def noise_sd(self) -> float:
        """sqrt(sigma-hat^2): the batch pass rate's sampling noise, from the step's own groups."""
        return sampling_noise_var([k / self.group_size for k in self.group_passes]) ** 0.5


@dataclass(frozen=True)
class Proposal:
    """One step's decision, in one object: the difficulty (the step's trial value), each group's
    own level when the controller places groups apart (`per_scenario`), and whether the entropy
    guard chose it (`curriculum/entropy_guard`)."""

    difficulty: float
    group_levels: tuple[float, ...] | None = None
    guard_acting: bool = False

    @property
    def levels(self) -> float | list[float]:
        """What the step's requests are built at: one level for every group, or each group's own."""
        return self.difficulty if self.group_levels is None else list(self.group_levels)


Rule = Callable[[int, optuna.Study], float]
Objective = Callable[[BatchStats], float]


@dataclass(frozen=True)
class EntropyGuard:
    """A policy whose entropy has collapsed learns little from harder users (its groups stop
    differing), and pushing the difficulty on can only lower its pass rate further. Below the
    floor the difficulty is held; after `patience` steps below it, it eases by `max_step` a step
    until the entropy is back above the floor."""

    floor: float
    patience: int
    max_step: float

    def difficulty(self, entropies: list[float], last: float) -> float | None:
        """The guarded difficulty, or None when the guard is not acting. `entropies`: what each
        step saw, oldest first, the step being proposed last."""
        below = 0
        for entropy in reversed(entropies):
            if entropy >= self.floor:
                break
            below += 1
        if below == 0:
            return None
        return last if below <= self.patience else max(0.0, last - self.max_step)


class StudyController:
    def __init__(
        self,
        study: optuna.Study,
        objective: Objective,
        rule: Rule | None = None,
        guard: EntropyGuard | None = None,
        planner: ScenarioPlanner | None = None,
        spread: float = 0.0,
        seed: int = 0,
    ):
        self.study = study
        self.spread = spread
        """`curriculum.spread`: each group's level jittered uniformly within +-spread of the proposal,
        so a batch measures nearby levels too (`band` models it when it aims)."""
        self.seed = seed
        self.objective = objective
        self.rule = rule
        self.guard = guard
        self.planner = planner
        self._trial: optuna.Trial | None = None
        for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study.tell(stale.number, state=TrialState.FAIL)

    def propose(self, step: int, entropy: float | None = None, buckets: tuple[str, ...] = ()) -> Proposal:
        """`entropy`: the policy's newest entropy (None before the learner has reported one);
        `buckets`: the scenario bucket of each group the step will draw (`per_scenario` places the
        groups by them; with a spread, one jittered level for each). The jitter's draws come from
        (seed, step), so a resumed run jitters as the uninterrupted one did."""
        guarded = self._guarded(entropy)
        group_levels = None
        if guarded is not None:
            self.study.enqueue_trial({DIFFICULTY: guarded})
        elif self.planner is not None:
            if not buckets:
                raise ValueError("per_scenario places each group by its scenario bucket: propose needs the step's buckets")
            group_levels = tuple(self.planner.levels(self.study, list(buckets)))
            self.study.enqueue_trial({DIFFICULTY: sum(group_levels) / len(group_levels)})
        elif self.rule is not None:
            self.study.enqueue_trial({DIFFICULTY: self.rule(step, self.study)})
        self._trial = self.study.ask(_DISTRIBUTIONS)
        self._trial.set_user_attr(STEP_ATTR, step)
        if self.guard is not None and entropy is not None:
            self._trial.set_user_attr(ENTROPY_ATTR, entropy)
        difficulty = float(self._trial.params[DIFFICULTY])
        if group_levels is None and self.spread and buckets:
            draws = np.random.default_rng([self.seed, step]).random(len(buckets))
            group_levels = tuple(float(np.clip(difficulty + self.spread * (2 * u - 1), 0.0, 1.0)) for u in draws)
        return Proposal(difficulty, group_levels, guarded is not None)

    def _guarded(self, entropy: float | None) -> float | None:
        if self.guard is None or entropy is None:
            return None
        done = trials_on_record(self.study)
        if not done:
            return None
        seen = [t.user_attrs[ENTROPY_ATTR] for t in done if ENTROPY_ATTR in t.user_attrs]
        return self.guard.difficulty([*seen, entropy], done[-1].params[DIFFICULTY])

    def observe(self, step: int, difficulty: float, stats: BatchStats) -> None:
        if self._trial is None:
            raise RuntimeError("observe called before propose")
        trial, self._trial = self._trial, None
        trial.set_user_attr("pass_rate", stats.pass_rate)
        trial.set_user_attr("informative_group_frac", stats.informative_group_frac)
        trial.set_user_attr(REWARD_ATTR, stats.reward_mean)
        trial.set_user_attr("noise_sd", stats.noise_sd)
        points = [[d, k, stats.group_size] for d, k in zip(stats.group_difficulties, stats.group_passes, strict=True)]
        trial.set_user_attr(GROUP_POINTS_ATTR, points)
        if self.planner is not None and stats.group_buckets:
            trial.set_user_attr(GROUP_BUCKETS_ATTR, list(stats.group_buckets))
        self.study.tell(trial, self.objective(stats))

    def completed_steps(self) -> int:
        return len(trials_on_record(self.study))

    def resume_at(self, step: int) -> int:
        """Continue a run from its checkpoint at `step`: the steps after it will be re-done, so
        their trials from before the crash leave the record. Returns how many did."""
        return rewind(self.study, step)


def _last_on_record(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    done = trials_on_record(study)
    return done[-1] if done else None


def default_storage(run_dir: str) -> str:
    return f"sqlite:///{run_dir}/curriculum.db"


def make_controller(config: ExperimentConfig, study_name: str, storage: str | None) -> StudyController:
    """The configured controller over the study `study_name` in `storage` (created or re-opened;
    None keeps it in memory, for tests and benchmarks)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    c = config.curriculum
    centre = (c.band[0] + c.band[1]) / 2
    sampler: optuna.samplers.BaseSampler
    rule: Rule | None = None
    if c.controller == "band":
        sampler = BandSampler(
            target=centre if c.signal == "pass_rate" else 0.5,
            initial=c.initial_difficulty,
            window=c.window,
            max_step=c.max_step,
            decay=None if c.decay == "auto" else c.decay,
            signal=c.signal,
            spread=c.spread,
            band=c.band if c.signal == "pass_rate" else None,
            seed=config.seed,
        )
    elif c.controller == "tpe":
        sampler = optuna.samplers.TPESampler(seed=config.seed)
    elif c.controller == "gp":
        sampler = optuna.samplers.GPSampler(seed=config.seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=config.seed)
        rule = None if c.controller == "per_scenario" else _rule(config, centre)
    study = optuna.create_study(
        study_name=study_name,
        storage=None if storage is None else open_run_storage(storage),
        sampler=sampler,
        direction="minimize",
        load_if_exists=True,
    )
    guard = None if c.entropy_floor is None else EntropyGuard(c.entropy_floor, c.entropy_patience, c.max_step)
    planner = None
    if c.controller == "per_scenario":
        planner = ScenarioPlanner(centre, c.initial_difficulty, c.window, c.max_step, config.seed)
    return StudyController(study, _objective(config), rule, guard, planner, c.spread, config.seed)


def _objective(config: ExperimentConfig) -> Objective:
    low, high = config.curriculum.band
    if config.curriculum.signal == "pass_rate":
        return lambda stats: band_distance(stats.pass_rate, low, high)
    g = config.rollout.group_size
    floor = float(min(informative_fraction(low, g), informative_fraction(high, g)))
    return lambda stats: max(0.0, floor - stats.informative_group_frac)


def _rule(config: ExperimentConfig, centre: float) -> Rule:
    c = config.curriculum
    if c.controller == "fixed":
        return lambda step, study: c.initial_difficulty
    if c.controller == "linear":
        span = max(1, config.trainer.steps - 1)
        return lambda step, study: c.initial_difficulty + (c.final_difficulty - c.initial_difficulty) * min(1.0, step / span)
    if c.controller == "adarft":

        def adarft(step: int, study: optuna.Study) -> float:
            last = _last_on_record(study)
            if last is None:
                return c.initial_difficulty
            return adarft_step(last.params[DIFFICULTY], last.user_attrs["pass_rate"], centre, c.adarft_eta, c.adarft_alpha)

        return adarft
    if c.controller == "progress":

        def progress(step: int, study: optuna.Study) -> float:
            done = trials_on_record(study)
            history = [(t.user_attrs[STEP_ATTR], t.params[DIFFICULTY], t.user_attrs[REWARD_ATTR]) for t in done]
            rng = np.random.default_rng([config.seed, step])
            return choose_level(history, c.progress_levels, c.progress_window, c.progress_epsilon, rng)

        return progress
    raise ValueError(f"curriculum.controller: unknown controller {c.controller!r}")
