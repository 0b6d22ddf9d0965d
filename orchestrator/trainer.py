"""One training step, read top to bottom like CleanRL's:

    propose difficulty -> rollout -> score -> learn -> sync weights -> observe -> log / checkpoint

`Trainer.step(t, ahead)` runs step t on explicit values: `ahead` is what the step before left of
this one (its `StepPlan`, or its `Rollout` already under way), and the step returns what it leaves
of the next. The pipeline's policy lag is data (`trainer.pipeline`): at lag 0 the next step's
rollout is submitted after this step's weight sync, at lag 1 before it, on the weights that sampled
this step; nothing else differs. Each phase is timed under `perf/<phase>_s`. The trainer owns no
model: the rollout pool, the learner and the weights' version (`WeightSync`) are its collaborators,
handed in, so a test drives a step with plain fakes of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from orchestrator.checkpoints import TrainerState, checkpoints, rng_state, save_checkpoint
from orchestrator.cluster.learner_group import LearnerFailed, LearnerGroup, PendingCall
from orchestrator.cluster.rollout_pool import PendingRollout, RolloutCost, RolloutPool, WorkersLost
from orchestrator.cluster.simulator_fleet import SimulatorFleet, SimulatorLost
from orchestrator.config import ExperimentConfig
from orchestrator.curriculum.controllers import BatchStats
from orchestrator.curriculum.stuck_buckets import StuckBuckets
from orchestrator.run_start import RunStart
from orchestrator.run_storage import travelling_study
from orchestrator.step_batch import draw_scenarios, evaluate, requests_for, sample_dialogues, score
from orchestrator.step_metrics import StepCounts, step_metrics
from orchestrator.step_timing import StepTiming
from orchestrator.weight_sync import WeightSync
from workers import storage
from workers.env.scenarios.scenario import scenario_bucket
from workers.env.users.llm_simulator import SimulatorUnavailable
from workers.env.users.simulator_usage import SimulatorUsage
from workers.types import Episode, EpisodeRequest

RUN_TOTALS = ("requests", "prompt_tokens", "completion_tokens")
"""The simulator's costs summed over a run (`simulator/run_*`)."""
STUCK_TAG = "curriculum.stuck_buckets"
"""The buckets ever warned about as stuck (a resumed run adds to them)."""
LAGS = {"sync": 0, "one_step_off": 1}
"""`trainer.pipeline`: updates between the weights that sample a step and the learner's."""


class StepFailed(RuntimeError):
    """A training step could not finish; the message says why and where the last checkpoint is."""


@dataclass
class SkippedUpdates:
    """Counts updates the learner skipped for non-finite numbers; a run gives up after `limit` in
    a row, since by then the batches, not one unlucky draw, are the problem."""

    limit: int
    total: int = 0
    in_a_row: int = 0

    def record(self, skipped: bool) -> float:
        self.total += skipped
        self.in_a_row = self.in_a_row + 1 if skipped else 0
        return float(self.total)

    @property
    def exhausted(self) -> bool:
        return self.in_a_row >= self.limit


@dataclass(frozen=True)
class StepPlan:
    """A step's draw and proposal, not yet sent to the workers."""

    step: int
    difficulty: float
    sampler_rng: list
    """The scenario sampler's state before this step's draw (what a checkpoint before it keeps)."""
    requests: tuple[EpisodeRequest, ...]
    buckets: tuple[str, ...]
    """Each group's scenario bucket (`curriculum.bucket_by`)."""
    guard_acting: bool


@dataclass(frozen=True)
class Rollout:
    """A step's rollout: submitted (`pending`), then collected (`episodes`, `cost`)."""

    plan: StepPlan
    pending: PendingRollout
    episodes: tuple[Episode, ...] | None = None
    cost: RolloutCost | None = None
    wait_s: float = 0.0
    """How long the driver waited for it (`rollout_wait`)."""


@dataclass(frozen=True)
class StepOutcome:
    metrics: dict[str, float]
    timing: StepTiming
    ahead: StepPlan | Rollout | None
    """What this step made of the next: its plan, or its rollout under way (None: the last step,
    or the next plan waits for this step's entropy)."""


class Trainer:
    """The run's steps on its collaborators, and the counts steps leave behind: entropies for the
    controller's guard, skipped updates, the simulator's run totals."""

    def __init__(
        self,
        config: ExperimentConfig,
        run: RunStart,
        controller,
        pool: RolloutPool,
        learner: LearnerGroup,
        weights: WeightSync,
        fleet: SimulatorFleet | None = None,
        log: Callable[[str], None] = print,
    ):
        """`weights`: the run's version count, on this `pool` and `learner`."""
        self.config, self.run, self.controller = config, run, controller
        self.pool, self.learner, self.weights, self.fleet, self.log = pool, learner, weights, fleet, log
        self.lag = LAGS[config.trainer.pipeline]
        self.learner_precision: str | None = run.precision
        """fp32 / bf16 once known: from the checkpoint on a resume, else from the first update."""
        self.skips = SkippedUpdates(config.algo.max_skipped_updates, total=int(run.faults.get("skipped_updates", 0)))
        self.entropies = dict(run.entropies)
        self.simulator_totals = {key: run.simulator_totals.get(key, 0.0) for key in RUN_TOTALS}
        self.stuck = StuckBuckets(config.curriculum.stuck_after)
        self.stuck.warned |= set(filter(None, (run.tracker.tag(STUCK_TAG) or "").split(",")))

    def step(self, t: int, ahead: StepPlan | Rollout | None) -> StepOutcome:
        timing, start = StepTiming(), time.perf_counter()
        rollout = self.collect(self.launch(ahead or self.plan(t)))
        if self.weights.behind:  # at lag 1: the last update's weights, held back while this rollout ran
            self.sync(timing)
        with timing.phase("score"):
            batch, stats = score(list(rollout.episodes), self.config, rollout.plan.buckets)
        update = self.learner.submit_update(batch)
        self.weights.request()  # every update is followed by a sync: its snapshot is taken at once
        learning = time.perf_counter()
        self.observe(rollout.plan, stats)
        following = self.plan(t + 1) if t + 1 < self.config.trainer.steps and self.plans_ahead() else None
        if self.lag and following is not None:
            following = self.launch(following)
        result = self.learned(t, update, learning, timing)
        policy_lag = self.weights.version - rollout.pending.version
        self.weights.updated()
        if isinstance(following, Rollout) and self.eval_due(t):
            # The evaluation samples from the newest weights; step t is not logged yet.
            following = self.collect(following, logged_before=False)
        if not isinstance(following, Rollout) or self.eval_due(t):
            self.sync(timing)
        metrics = self.finish(rollout, stats, result, policy_lag, timing, start, following)
        return StepOutcome(metrics, timing, following)

    def plan(self, t: int) -> StepPlan:
        """The step's users, levels and requests. The proposal sees the entropy of the newest step
        whose update has finished by now: t - 1 - lag (a resumed run alike); none when lag 0 plans
        ahead, which it does only where no entropy guard reads it (`plans_ahead`)."""
        sampler_rng = rng_state(self.run.rng)
        scenarios = draw_scenarios(self.config, self.run.rng)
        buckets = tuple(scenario_bucket(s, self.config.curriculum.bucket_by) for s in scenarios)
        proposal = self.controller.propose(t, self.entropies.get(t - 1 - self.lag), buckets)
        requests = requests_for(self.config, scenarios, proposal.levels, t)
        return StepPlan(t, proposal.difficulty, sampler_rng, tuple(requests), buckets, proposal.guard_acting)

    def plans_ahead(self) -> bool:
        """Whether step t plans step t + 1 while the learner trains: always at lag 1 (its rollout
        starts then); at lag 0 the proposal would see step t's outcome but not its entropy, so not
        under an entropy guard."""
        return bool(self.lag) or self.config.curriculum.entropy_floor is None

    def launch(self, ahead: StepPlan | Rollout) -> Rollout:
        if isinstance(ahead, Rollout):
            return ahead
        return Rollout(ahead, self.pool.submit(list(ahead.requests)))

    def collect(self, rollout: Rollout, logged_before: bool = True) -> Rollout:
        """The rollout's episodes. A rollout lost for good ends the run; the policy is checkpointed
        first only where every step before this one is logged (`logged_before`): a checkpoint
        after step t whose metrics never reached MLflow would leave a hole a resume cannot fill,
        and an evaluation's early collection is made before its own step is logged."""
        if rollout.episodes is not None:
            return rollout
        step = rollout.plan.step
        try:
            tick = time.perf_counter()
            episodes, cost = self.pool.collect(rollout.pending)
            wait_s = time.perf_counter() - tick
            if self.fleet is not None:
                self.fleet.check(wait=step == self.config.trainer.steps - 1)
        except (SimulatorUnavailable, SimulatorLost, WorkersLost) as exc:
            cause = getattr(exc, "cause", exc)  # Ray's wrapper keeps the worker's own exception here
            if step == 0:
                raise StepFailed(f"step 0 failed before any update: {cause}") from None
            if not logged_before:
                raise StepFailed(
                    f"step {step} failed: {cause}\nstep {step - 1}, whose evaluation was waiting for this rollout, was "
                    f"not logged; {self.last_checkpoint()}"
                ) from None
            path = storage.display(self.commit(step, rollout.plan.sampler_rng))
            raise StepFailed(
                f"step {step} failed: {cause}\nthe policy after {step} finished steps is checkpointed in {path}"
            ) from None
        return replace(rollout, episodes=tuple(episodes), cost=cost, wait_s=wait_s)

    def observe(self, plan: StepPlan, stats: BatchStats) -> None:
        self.controller.observe(plan.step, plan.difficulty, stats)
        if newly := self.stuck.observe(stats):
            for bucket in newly:
                self.log(f"step {plan.step}: {self.stuck.warning(bucket)}")
            self.run.tracker.set_tags({STUCK_TAG: ",".join(sorted(self.stuck.warned))})

    def learned(self, t: int, update: PendingCall, started: float, timing: StepTiming) -> dict[str, float]:
        """The update's result, which the driver went on without while it ran."""
        try:
            result = self.learner.result(update)
        except LearnerFailed as exc:
            raise StepFailed(f"step {t} failed: {exc}\n{self.last_checkpoint()}") from None
        self.skips.record(result["faults/skipped_update"] > 0)
        self.entropies[t] = result["actor/entropy"]
        if self.learner_precision is None or t == self.run.step:
            self.tell_precision()
        timing.phases["learn"] = time.perf_counter() - started
        timing.parts["learner_update"] = result["perf/update_s"]
        for part in ("forward", "backward", "optimizer"):
            timing.parts[f"learner_{part}"] = result[f"perf/learner_{part}_s"]
        return result

    def last_checkpoint(self) -> str:
        """Where a failed run resumes from, when the failure leaves no new checkpoint."""
        last = checkpoints(self.run.location)
        return f"the last checkpoint, {storage.display(last[-1])}, is intact" if last else "no checkpoint was written yet"

    def tell_precision(self) -> None:
        """The learner's precision, after this run's (or this resume's) first update: `algo.precision:
        auto` may time that update's batch in both. It is a param, which MLflow never lets change,
        and goes into every checkpoint, so a resumed run computes as the run did."""
        choice = self.learner.call("precision_choice")
        self.log(f"learner precision {choice.precision}: {choice.reason}")
        self.run.tracker.log_params({"learner.precision": choice.precision})
        self.run.tracker.set_tags({"learner.precision_reason": choice.reason})
        self.learner_precision = choice.precision

    def sync(self, timing: StepTiming) -> None:
        with timing.phase("sync", add=True):
            self.weights.push()
        timing.parts["sync_snapshot"] += self.weights.snapshot_s

    def eval_due(self, t: int) -> bool:
        every = self.config.trainer.eval_every
        return bool(every) and ((t + 1) % every == 0 or t == self.config.trainer.steps - 1)

    def finish(
        self,
        rollout: Rollout,
        stats: BatchStats,
        update: dict[str, float],
        policy_lag: int,
        timing: StepTiming,
        start: float,
        following: StepPlan | Rollout | None,
    ) -> dict[str, float]:
        """Evaluate (on the workers' weights, synced by now), log the step's metrics at once (each
        step once: orchestrator/tracking/step_log.py), checkpoint."""
        config, step, step_log = self.config, rollout.plan.step, self.run.step_log
        episodes, cost = list(rollout.episodes), rollout.cost
        timing.phases["generate"], timing.phases["simulate"] = cost.generate_s, cost.simulate_s
        timing.parts["rollout_wait"] = rollout.wait_s
        services: dict[str, float] = {}
        usage = cost.simulator_usage
        if self.eval_due(step):
            with timing.phase("eval"):
                services, eval_episodes, eval_usage = evaluate(self.pool, config)
            usage = SimulatorUsage.total([usage, eval_usage])
            rows = sample_dialogues(eval_episodes, step, config.trainer.samples_per_log)
            step_log.table(step, rows, f"eval/step_{step:06d}.json")
        if config.simulator.name == "llm":
            services |= self.simulator_cost(usage)
        if self.fleet is not None:
            services |= self.fleet.cache_metrics()
        tick = time.perf_counter()
        counts = StepCounts(
            difficulty=rollout.plan.difficulty,
            guard_acting=rollout.plan.guard_acting,
            policy_lag=policy_lag,
            skipped_updates=self.skips.total,
            rollout_restarts=self.pool.restarts,
            stuck_buckets=len(self.stuck.stuck),
            sync_bytes=self.weights.sync_bytes,
            step_s=tick - start,
            simulator_restarts=None if self.fleet is None else self.fleet.restarts,
        )
        metrics = step_metrics(config, episodes, stats, update, timing, counts, services)
        last = step == config.trainer.steps - 1
        if step % config.trainer.sample_every == 0 or last:
            rows = sample_dialogues(episodes, step, config.trainer.samples_per_log)
            step_log.table(step, rows, f"dialogues/step_{step:06d}.json")
        step_log.metrics(step, metrics)  # last: MLflow holding the step's metrics means it holds all of it
        every = config.trainer.checkpoint_every
        if last or (every and (step + 1) % every == 0) or self.skips.exhausted:
            path = self.commit(step + 1, self.sampler_state_before(following))
        if self.skips.exhausted:
            raise StepFailed(
                f"step {step}: {self.skips.in_a_row} updates in a row had a non-finite loss or gradient and were "
                f"skipped (algo.max_skipped_updates); the policy, unchanged by them, is checkpointed in {storage.display(path)}"
            )
        timing.phases["log"] = time.perf_counter() - tick
        timing.step_s = time.perf_counter() - start
        return metrics

    def sampler_state_before(self, following: StepPlan | Rollout | None) -> list:
        """The scenario sampler's state before the next step's draw, which may have been made."""
        if following is None:
            return rng_state(self.run.rng)
        return (following.plan if isinstance(following, Rollout) else following).sampler_rng

    def simulator_cost(self, usage: SimulatorUsage) -> dict[str, float]:
        """The step's simulator requests, tokens and latency (its evaluation's included) and the
        run's totals so far (`simulator/run_*`, carried across a resume by the checkpoint)."""
        for key in RUN_TOTALS:
            self.simulator_totals[key] += getattr(usage.overall, key)
        served = self.fleet.names if self.fleet is not None else []
        return usage.metrics(served) | {f"simulator/run_{key}": value for key, value in self.simulator_totals.items()}

    def commit(self, finished: int, sampler_rng: list) -> str:
        """Checkpoint after `finished` steps; `sampler_rng`: the scenario sampler's state before
        the draw of step `finished`."""
        faults = {"skipped_updates": self.skips.total, "rollout_restarts": self.pool.restarts}
        if self.fleet is not None:
            faults["simulator_restarts"] = self.fleet.restarts
        study = self.run.study
        entropies = {str(step): self.entropies[step] for step in (finished - 2, finished - 1) if step in self.entropies}
        state = TrainerState(
            finished,
            self.run.initial_policy,
            study["study_name"],
            study["storage"],
            sampler_rng,
            faults,
            entropies,
            dict(self.simulator_totals),
            learner_precision=self.learner_precision,
        )
        study_db = travelling_study(self.config, self.run.run_dir)
        return save_checkpoint(self.learner, self.run.location, state, self.config.trainer.keep_checkpoints, study_db)
