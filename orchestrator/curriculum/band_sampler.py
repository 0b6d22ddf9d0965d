"""`band`: an Optuna sampler that aims the next difficulty at the centre of the pass-rate band.

From the last `window` finished trials (each a training step: its difficulty, or its groups'
difficulties under `curriculum.spread`, and their pass counts, stored as trial user attributes)
it fits pass rate against difficulty with recency weights (pass_curve.py) and proposes where the
fit crosses the band centre (for a jittered batch: where its average over the jitter does). The
recency weight is `decay`, or under `decay: auto` the one of pass_curve.DECAYS whose forecasts of
the last `HOLDOUT` steps were best: real policies swing from step to step, synthetic ones drift
smoothly, and each wants another memory. It moves at most `max_step` from the previous
difficulty, after a batch outside the band only towards it (with `band` given), clamps to [0, 1],
and when the fit is uncertain (a loose slope, or evidence from one difficulty only) it adds a
little exploration noise so the next step also measures the curve's slope.

With `signal="informative_frac"` the fit sees only whether each group's outcomes were mixed, and
the aim is the most informative difficulty, where the fitted pass rate is 0.5.
"""

from __future__ import annotations

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial

from orchestrator.curriculum.pass_curve import MIN_SLOPE, Point, Signal, choose_decay, fit_pass_curve, observations
from orchestrator.curriculum.study_records import GROUP_POINTS_ATTR, trials_on_record

HOLDOUT = 8
"""Recent steps on which `decay: auto` scores each memory's one-step-ahead forecasts."""
MIN_STEPS_TO_CHOOSE = 3
FALLBACK_DECAY = 0.85
"""The memory while there is too little history (MIN_STEPS_TO_CHOOSE) to score memories on."""
UNCERTAIN_SLOPE = 0.5
"""Explore while the slope's posterior sd exceeds this share of the slope itself: relative, since
a cliff's steep slope is known well enough to aim by long before its sd is small in absolute terms."""


def recency_decay(steps: list[list[Point]], window: int, signal: Signal) -> float:
    """`decay: auto`'s memory for the next fit: the best forecaster of the last HOLDOUT steps,
    or FALLBACK_DECAY while there are too few steps to score memories on."""
    return choose_decay(steps, window, HOLDOUT, signal) if len(steps) > MIN_STEPS_TO_CHOOSE else FALLBACK_DECAY


class BandSampler(BaseSampler):
    def __init__(
        self,
        *,
        target: float,
        initial: float,
        window: int = 12,
        max_step: float = 0.1,
        decay: float | None = None,
        explore: float = 0.03,
        signal: Signal = "pass_rate",
        spread: float = 0.0,
        band: tuple[float, float] | None = None,
        seed: int | None = None,
    ):
        if not 0.0 < target < 1.0:
            raise ValueError(f"band centre must lie strictly inside (0, 1), got {target}")
        self.target = target
        self.initial = initial
        self.window = window
        self.max_step = max_step
        self.decay = decay
        self.explore = explore
        self.signal = signal
        self.spread = spread
        self.band = band
        self.seed = seed

    def _rng_for(self, step: int) -> np.random.Generator:
        """Exploration noise drawn per step, not from one running stream, so a resumed run
        explores exactly as an uninterrupted one would."""
        return np.random.default_rng(None if self.seed is None else [self.seed, step])

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict:
        return {}

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution):
        if not isinstance(param_distribution, FloatDistribution):
            raise ValueError(f"the band sampler proposes one float difficulty, not {param_distribution!r}")
        low, high = param_distribution.low, param_distribution.high
        done = [t for t in trials_on_record(study) if param_name in t.params]
        if not done:
            return float(np.clip(self.initial, low, high))
        recent = done[-(self.window + HOLDOUT) :]
        return float(np.clip(self.propose(recent, param_name, self._rng_for(len(done))), low, high))

    def propose(self, recent: list[FrozenTrial], param_name: str, rng: np.random.Generator) -> float:
        """The next difficulty from the recent trials (oldest first): the last `window` of them
        are fitted; with `decay` None the `HOLDOUT` before those also pick the memory."""
        steps = [[tuple(point) for point in t.user_attrs.get(GROUP_POINTS_ATTR, [])] for t in recent]
        decay = self.decay or recency_decay(steps, self.window, self.signal)
        evidence = observations(steps[-self.window :])
        last = recent[-1].params[param_name]
        curve = fit_pass_curve(evidence, decay, self.signal)
        aim = curve.difficulty_for(self.target, ahead=1, spread=self.spread)
        distinct = len({round(o.difficulty, 4) for o in evidence})
        if curve.slope_sd > UNCERTAIN_SLOPE * max(curve.b, MIN_SLOPE) or distinct < 2:
            aim += rng.normal(0.0, self.explore)
        low, high = self._moves_allowed(steps[-1])
        return last + float(np.clip(aim - last, low, high))

    def _moves_allowed(self, latest: list[tuple[float, float, float]]) -> tuple[float, float]:
        """At most `max_step` either way; and after a batch outside `band`, only towards it. A
        fit can argue against the latest batch - a drift term extrapolating a policy that has
        stopped improving, a shallow slope fitted below a cliff - and a step that follows it
        lands further from the band on exactly the steps where the policy has just changed."""
        low, high = -self.max_step, self.max_step
        episodes = sum(n for _, _, n in latest)
        if self.band is None or not episodes:
            return low, high
        rate = sum(k for _, k, _ in latest) / episodes
        if rate < self.band[0]:
            high = 0.0
        elif rate > self.band[1]:
            low = 0.0
        return low, high
