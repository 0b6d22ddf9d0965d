"""The training loop, read top to bottom like CleanRL's:

    propose difficulty -> rollout -> score -> learn -> sync weights -> observe -> log / checkpoint

Each phase is a short function and is timed under `perf/<phase>_s`. The driver owns no model:
the rollout workers and the learner are Ray actors; only plain dataclasses cross to them.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestrator.checkpoints import (
    FINISHED,
    TrainerState,
    checkpoints,
    rng_state,
    save_checkpoint,
)
from orchestrator.cluster.learner_group import LearnerFailed, PendingCall
from orchestrator.cluster.placement import reserve
from orchestrator.cluster.ray_session import ray_session
from orchestrator.cluster.rollout_pool import PendingRollout, RolloutCost, RolloutPool, WorkersLost
from orchestrator.cluster.run_actors import start_actors
from orchestrator.cluster.simulator_fleet import SimulatorFleet, SimulatorLost, launch_simulator_servers
from orchestrator.config import ExperimentConfig
from orchestrator.curriculum.controllers import BatchStats, make_controller
from orchestrator.curriculum.stuck_buckets import StuckBuckets
from orchestrator.fault_injection import NO_FAULTS, FaultPlan
from orchestrator.model_sources import check_model_sources
from orchestrator.run_start import RunStart, open_run
from orchestrator.run_storage import check_reachable, travelling_study
from orchestrator.step_batch import draw_scenarios, evaluate, requests_for, sample_dialogues, score
from orchestrator.step_timing import StepTiming
from orchestrator.tracking.mlflow_tracker import Tracker
from orchestrator.tracking.run_report import CURVE_KEYS, plot_runs
from workers import storage
from workers.env.scenarios.scenario import scenario_bucket
from workers.env.users.llm_simulator import SimulatorUnavailable
from workers.env.users.simulator_usage import SimulatorUsage
from workers.types import Episode, EpisodeRequest, TrainBatch

RUN_TOTALS = ("requests", "prompt_tokens", "completion_tokens")
"""The simulator's costs summed over a run (`simulator/run_*`)."""
STUCK_TAG = "curriculum.stuck_buckets"
"""The buckets ever warned about as stuck (a resumed run adds to them)."""


class StepFailed(RuntimeError):
    """A training step could not finish; the message says why and where the last checkpoint is."""


class RunStopped(Exception):
    """Raised by an `on_step` callback to end a run early on purpose (a pruned sweep trial): the
    MLflow run, which holds every finished step already, ends KILLED."""


@dataclass
class RunSummary:
    run_id: str
    run_dir: Path
    """The driver's directory for the run."""
    location: str
    """Where the run is stored (its checkpoints): `run_dir` unless storage.uri."""
    timings: list[StepTiming]
    last_metrics: dict[str, float]


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
class Plan:
    """A step's draw and proposal, not yet sent to the workers."""

    step: int
    difficulty: float
    sampler_rng: list
    """The scenario sampler's state before this step's draw (what a checkpoint before it keeps)."""
    requests: list[EpisodeRequest]
    buckets: tuple[str, ...]
    guard_acting: bool


@dataclass
class InFlight:
    """A step's rollout, submitted and perhaps collected."""

    step: int
    difficulty: float
    sampler_rng: list
    """The scenario sampler's state before this step's draw (what a checkpoint before it keeps)."""
    pending: PendingRollout
    buckets: tuple[str, ...]
    """Each group's scenario bucket (`curriculum.bucket_by`)."""
    guard_acting: bool = False
    episodes: list[Episode] | None = None
    cost: RolloutCost | None = None
    wait_s: float = 0.0
    """How long the driver waited for the rollout (`rollout_wait`)."""


class StepRunner:
    """The phases of a training step, as named functions for the loops below to put in order, and
    the bookkeeping steps leave behind: timings, the skipped-update count."""

    def __init__(
        self,
        config: ExperimentConfig,
        run: RunStart,
        controller,
        pool: RolloutPool,
        learner,
        fresh: bool,
        faults: FaultPlan,
        fleet: SimulatorFleet | None,
        log: Callable[[str], None] = print,
    ):
        self.config, self.run, self.controller, self.pool, self.learner = config, run, controller, pool, learner
        self.faults, self.fleet, self.log = faults, fleet, log
        self.learner_precision: str | None = run.precision
        """fp32 / bf16 once known: from the checkpoint on a resume, else from the first update."""
        self.fresh = fresh
        self.learner_version = pool.version
        self.timings: list[StepTiming] = []
        self.metrics: dict[str, float] = {}
        self.skips = SkippedUpdates(config.algo.max_skipped_updates, total=int(run.faults.get("skipped_updates", 0)))
        self.entropies = dict(run.entropies)
        self.simulator_totals = {key: run.simulator_totals.get(key, 0.0) for key in RUN_TOTALS}
        self.lag = 1 if config.trainer.pipeline == "one_step_off" else 0
        self.stuck = StuckBuckets(config.curriculum.stuck_after)
        self.stuck.warned |= set(filter(None, (run.tracker.tag(STUCK_TAG) or "").split(",")))

    def begin(self, step: int) -> tuple[StepTiming, float]:
        """Where `FaultPlan.kill_driver_at_step` strikes: the driver SIGKILLs itself here, in a fresh
        run only (a resumed run goes past it)."""
        if step == self.faults.kill_driver_at_step and self.fresh:
            os.kill(os.getpid(), signal.SIGKILL)
        return StepTiming(), time.perf_counter()

    def plan(self, step: int) -> Plan:
        """The step's users, levels and requests. The proposal sees the entropy of the newest step
        whose update has finished by now: step - 1 in the synchronous loop, step - 2 in the
        pipelined one (a resumed run alike); none when the synchronous loop plans ahead, which it
        does only where no entropy guard reads it (`plans_ahead`)."""
        sampler_rng = rng_state(self.run.rng)
        scenarios = draw_scenarios(self.config, self.run.rng)
        buckets = tuple(scenario_bucket(s, self.config.curriculum.bucket_by) for s in scenarios)
        proposal = self.controller.propose(step, self.entropies.get(step - 1 - self.lag), buckets)
        requests = requests_for(self.config, scenarios, proposal.levels, step)
        return Plan(step, proposal.difficulty, sampler_rng, requests, buckets, proposal.guard_acting)

    def launch(self, plan: Plan) -> InFlight:
        kill = 0 if plan.step == self.faults.kill_rollout_worker_at_step else None
        pending = self.pool.submit(plan.requests, kill_worker=kill)
        if plan.step == self.faults.kill_simulator_at_step and self.fleet is not None:
            self.fleet.kill_when_busy(0)
        return InFlight(plan.step, plan.difficulty, plan.sampler_rng, pending, plan.buckets, plan.guard_acting)

    def submit(self, step: int) -> InFlight:
        return self.launch(self.plan(step))

    def plans_ahead(self) -> bool:
        """Whether the synchronous loop may plan step t+1 while the learner trains on step t: the
        proposal then sees step t's outcome, as it would after the update, but not step t's
        entropy, so not under an entropy guard."""
        return self.config.curriculum.entropy_floor is None

    def observe(self, flight: InFlight, stats: BatchStats) -> None:
        self.controller.observe(flight.step, flight.difficulty, stats)
        if newly := self.stuck.observe(stats):
            for bucket in newly:
                self.log(f"step {flight.step}: {self.stuck.warning(bucket)}")
            self.run.tracker.set_tags({STUCK_TAG: ",".join(sorted(self.stuck.warned))})

    def collect(self, flight: InFlight) -> list[Episode]:
        if flight.episodes is not None:
            return flight.episodes
        try:
            tick = time.perf_counter()
            flight.episodes, flight.cost = self.pool.collect(flight.pending)
            flight.wait_s = time.perf_counter() - tick
            if self.fleet is not None:
                self.fleet.check(wait=flight.step == self.config.trainer.steps - 1)
        except (SimulatorUnavailable, SimulatorLost, WorkersLost) as exc:
            cause = getattr(exc, "cause", exc)  # Ray's wrapper keeps the worker's own exception here
            if flight.step == 0:
                raise StepFailed(f"step 0 failed before any update: {cause}") from None
            path = storage.display(self.commit(flight.step, flight.sampler_rng))
            raise StepFailed(
                f"step {flight.step} failed: {cause}\nthe policy after {flight.step} finished steps is checkpointed in {path}"
            ) from None
        return flight.episodes

    def start_learning(self, step: int, batch: TrainBatch) -> tuple[PendingCall, float]:
        """The update runs on the learner while the driver goes on with work that needs no new
        weights (observing the step, proposing the next): `learned` waits for it."""
        kill = self.learner.size - 1 if step == self.faults.kill_learner_rank_at_step and self.fresh else None
        update = self.learner.submit_update(batch, kill_rank=kill)
        self.pool.request_weights()  # every update is followed by a sync: its snapshot is taken at once
        return update, time.perf_counter()

    def learned(self, started: tuple[PendingCall, float], timing: StepTiming, flight: InFlight) -> dict[str, float]:
        """`actor/policy_lag`: updates between the weights that generated the batch and the learner's."""
        update, tick = started
        try:
            metrics = self.learner.result(update)
        except LearnerFailed as exc:
            last = checkpoints(self.run.location)
            kept = f"the last checkpoint, {storage.display(last[-1])}, is intact" if last else "no checkpoint was written yet"
            raise StepFailed(f"step {flight.step} failed: {exc}\n{kept}") from None
        metrics["faults/skipped_updates"] = self.skips.record(metrics.pop("faults/skipped_update") > 0)
        metrics["actor/policy_lag"] = float(self.learner_version - flight.pending.version)
        self.entropies[flight.step] = metrics["actor/entropy"]
        self.learner_version += 1
        if self.learner_precision is None or flight.step == self.run.step:
            self.tell_precision()
        timing.phases["learn"] = time.perf_counter() - tick
        timing.parts["learner_update"] = metrics["perf/update_s"]
        for part in ("forward", "backward", "optimizer"):
            timing.parts[f"learner_{part}"] = metrics[f"perf/learner_{part}_s"]
        return metrics

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
            self.pool.sync(self.learner_version)
        timing.parts["sync_snapshot"] += self.pool.snapshot_s

    def eval_due(self, step: int) -> bool:
        every = self.config.trainer.eval_every
        return bool(every) and ((step + 1) % every == 0 or step == self.config.trainer.steps - 1)

    def commit(self, finished: int, sampler_rng: list) -> str:
        """Checkpoint after `finished` steps."""
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

    def simulator_cost(self, usage: SimulatorUsage) -> dict[str, float]:
        """The step's simulator requests, tokens and latency (its evaluation's included) and the
        run's totals so far (`simulator/run_*`, carried across a resume by the checkpoint)."""
        for key in RUN_TOTALS:
            self.simulator_totals[key] += getattr(usage.overall, key)
        served = self.fleet.names if self.fleet is not None else []
        return usage.metrics(served) | {f"simulator/run_{key}": value for key, value in self.simulator_totals.items()}

    def finish(self, flight: InFlight, metrics: dict[str, float], timing: StepTiming, start: float, next_rng: list) -> None:
        """Evaluate (on the workers' weights, synced by the caller), log the step's metrics at once
        (each step once: orchestrator/tracking/step_log.py), checkpoint."""
        config, step, step_log = self.config, flight.step, self.run.step_log
        assert flight.episodes is not None and flight.cost is not None
        timing.phases["generate"], timing.phases["simulate"] = flight.cost.generate_s, flight.cost.simulate_s
        timing.parts["rollout_wait"] = flight.wait_s
        last = step == config.trainer.steps - 1
        usage = flight.cost.simulator_usage
        if self.eval_due(step):
            with timing.phase("eval"):
                eval_metrics, eval_episodes, eval_usage = evaluate(self.pool, config)
            usage = SimulatorUsage.total([usage, eval_usage])
            metrics |= eval_metrics
            rows = sample_dialogues(eval_episodes, step, config.trainer.samples_per_log)
            step_log.table(step, rows, f"eval/step_{step:06d}.json")
        tick = time.perf_counter()
        band = {"curriculum/band_low": config.curriculum.band[0], "curriculum/band_high": config.curriculum.band[1]}
        metrics |= band | {"curriculum/difficulty": flight.difficulty, "faults/rollout_restarts": float(self.pool.restarts)}
        metrics["curriculum/stuck_buckets"] = float(len(self.stuck.stuck))
        if config.curriculum.entropy_floor is not None:
            metrics["curriculum/entropy_guard"] = float(flight.guard_acting)
        if config.simulator.name == "llm":
            metrics |= self.simulator_cost(usage)
        if self.fleet is not None:
            metrics["faults/simulator_restarts"] = float(self.fleet.restarts)
            metrics |= self.fleet.cache_metrics()
        metrics |= {f"perf/{p}_s": timing.phases[p] for p in ("generate", "simulate", "score", "learn", "sync", "eval")}
        metrics["perf/sync_bytes"] = float(self.pool.sync_bytes)
        tokens = sum(e.response_tokens for e in flight.episodes)
        metrics["perf/tokens_per_s"] = tokens / max(timing.phases["generate"], 1e-9)
        metrics["perf/step_s"] = tick - start
        if step % config.trainer.sample_every == 0 or last:
            rows = sample_dialogues(flight.episodes, step, config.trainer.samples_per_log)
            step_log.table(step, rows, f"dialogues/step_{step:06d}.json")
        step_log.metrics(step, metrics)  # last: MLflow holding the step's metrics means it holds all of it
        every = config.trainer.checkpoint_every
        if last or (every and (step + 1) % every == 0) or self.skips.exhausted:
            path = self.commit(step + 1, next_rng)
        if self.skips.exhausted:
            raise StepFailed(
                f"step {step}: {self.skips.in_a_row} updates in a row had a non-finite loss or gradient and were "
                f"skipped (algo.max_skipped_updates); the policy, unchanged by them, is checkpointed in {storage.display(path)}"
            )
        timing.phases["log"] = time.perf_counter() - tick
        timing.step_s = time.perf_counter() - start
        self.timings.append(timing)
        self.metrics = metrics


def synchronous_loop(steps: StepRunner, on_step: Callable[[int, dict[str, float]], None]) -> None:
    """propose -> rollout -> score -> learn -> sync -> observe -> log / checkpoint, one step at a
    time. The next step's draw and proposal are made while the learner trains, after observing
    this step's outcome (`plans_ahead`), so only the rollout itself waits for the new weights."""
    final = steps.config.trainer.steps
    planned: Plan | None = None
    for step in range(steps.run.step, final):
        timing, start = steps.begin(step)
        flight = steps.launch(planned) if planned is not None else steps.submit(step)
        episodes = steps.collect(flight)
        with timing.phase("score"):
            batch, stats, metrics = score(episodes, steps.config, flight.buckets)
        update = steps.start_learning(step, batch)
        steps.observe(flight, stats)
        planned = steps.plan(step + 1) if step + 1 < final and steps.plans_ahead() else None
        metrics |= steps.learned(update, timing, flight)
        steps.sync(timing)
        next_rng = planned.sampler_rng if planned is not None else rng_state(steps.run.rng)
        steps.finish(flight, metrics, timing, start, next_rng)
        on_step(step, steps.metrics)


def one_step_off_loop(steps: StepRunner, on_step: Callable[[int, dict[str, float]], None]) -> None:
    """Step t+1 generates on the weights that generated step t while the learner trains on step t
    (a policy lag of one update). Step t's outcome is observed before t+1's difficulty is proposed,
    as in the synchronous loop; the weights of update t reach the workers once t+1's rollout is in.
    An evaluation waits for the rollout in flight and the sync, so it sees the newest weights."""
    final = steps.config.trainer.steps
    flight: InFlight | None = None
    for step in range(steps.run.step, final):
        timing, start = steps.begin(step)
        flight = flight or steps.submit(step)
        episodes = steps.collect(flight)
        if steps.pool.version < steps.learner_version:
            steps.sync(timing)
        with timing.phase("score"):
            batch, stats, metrics = score(episodes, steps.config, flight.buckets)
        update = steps.start_learning(step, batch)
        steps.observe(flight, stats)
        following = steps.submit(step + 1) if step + 1 < final else None
        metrics |= steps.learned(update, timing, flight)
        if following is None or steps.eval_due(step):
            if following is not None:
                steps.collect(following)
            steps.sync(timing)
        next_rng = following.sampler_rng if following is not None else rng_state(steps.run.rng)
        steps.finish(flight, metrics, timing, start, next_rng)
        on_step(step, steps.metrics)
        flight = following


LOOPS = {"sync": synchronous_loop, "one_step_off": one_step_off_loop}


def train(
    config: ExperimentConfig,
    on_step: Callable[[int, dict[str, float]], None] = lambda step, metrics: None,
    log: Callable[[str], None] = print,
    tracker: Tracker | None = None,
    resume_from: str | Path | None = None,
    faults: FaultPlan = NO_FAULTS,
) -> RunSummary:
    """Run `config` to `trainer.steps`, or continue the run stored at `resume_from` (a location:
    checkpoints.find_run) from its newest checkpoint. Each step's metrics reach MLflow as it ends; a run resumed after a crash
    re-does the steps after its checkpoint and logs none of them twice. `faults`: what a test
    injects (fault_injection.py)."""
    import ray

    check_model_sources(config)
    run = open_run(config, tracker, None if resume_from is None else str(resume_from), log)
    tracker, run_dir = run.tracker, run.run_dir
    controller = make_controller(config, **run.study)
    if run.step:
        redone = controller.resume_at(run.step)
        log(
            f"controller: study {run.study['study_name']} continues with {controller.completed_steps()} steps on record"
            f" ({redone} to redo)"
        )
    tracker.set_tags({f"curriculum.{k}": v for k, v in run.study.items()})
    status = "FAILED"
    try:
        with ray_session(config), reserve(config, log) as placement:
            check_reachable(config, run.location, placement.named_strategies())
            fleet = launch_simulator_servers(config, placement, log)
            if fleet is not None:
                fleet.restarts = int(run.faults.get("simulator_restarts", 0))
            log("starting rollout workers and learner on Ray")
            served = fleet.served() if fleet is not None else ()
            workers, learner = start_actors(config, run.policy, run.initial_policy, placement, served, run.precision)
            if fleet is not None:
                fleet.wait_ready()
            dtype = ray.get(workers[0].rollout_dtype.remote())
            log(f"rollout dtype {dtype.dtype}: {dtype.reason}")
            tracker.set_tags({"rollout.dtype": dtype.dtype, "rollout.dtype_reason": dtype.reason})
            if sharing_off := learner.call("sharing_note"):
                log(f"algo.shared_prefix off for this model: {sharing_off}")
                tracker.set_tags({"learner.shared_prefix_off": sharing_off})
            pool = RolloutPool(
                workers,
                learner,
                config.faults.max_rollout_restarts,
                restarts=int(run.faults.get("rollout_restarts", 0)),
                weight_dtype=dtype.dtype,
                log=log,
            )
            if run.step:
                # The workers loaded the checkpoint's weights as v0; tag them with the learner's count.
                pool.sync(learner.restore(run.policy))
            steps = StepRunner(
                config, run, controller, pool, learner, fresh=resume_from is None, faults=faults, fleet=fleet, log=log
            )
            LOOPS[config.trainer.pipeline](steps, on_step)
        history = {key: tracker.metric_history(key) for key in CURVE_KEYS}
        plot = plot_runs({tracker.run_id: history}, run_dir / "curves.png", f"goldilocks run {tracker.run_id}")
        tracker.log_file(plot, "plots")
        storage.write_text(storage.join(run.location, "timings.json"), json.dumps([asdict(t) for t in steps.timings], indent=1))
        if run.location != str(run_dir):
            storage.write_bytes(storage.join(run.location, plot.name), plot.read_bytes())
        storage.write_text(storage.join(run.location, FINISHED), "")
        status = "FINISHED"
    except (KeyboardInterrupt, RunStopped):
        status = "KILLED"
        raise
    finally:
        tracker.finish(status)
    return RunSummary(tracker.run_id, run_dir, run.location, steps.timings, steps.metrics)
