"""The run's actors on Ray: how many threads each gets, and starting them in the run's placement
group."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.cluster.learner_group import start_learner_group
from orchestrator.cluster.placement import Placement
from orchestrator.cluster.ray_session import policy_cpus
from orchestrator.config import ExperimentConfig
from workers.env.users.chat_routes import ServedSimulator
from workers.fsdp_group import GroupSpec
from workers.learner import Learner
from workers.rollout_worker import RolloutWorker


@dataclass(frozen=True)
class ActorThreads:
    rollout: int
    """Each rollout worker's CPU threads."""
    learner: int
    """Each learner rank's."""
    passive: bool
    """Threads outnumber the cores they run on: OpenMP's idle threads sleep (OMP_WAIT_POLICY=PASSIVE)
    instead of spinning on cores the other actor needs."""

    def env(self) -> dict[str, str]:
        return {"OMP_WAIT_POLICY": "PASSIVE"} if self.passive else {}


def actor_threads(config: ExperimentConfig) -> ActorThreads:
    """How many CPU threads each actor runs on. The synchronous loop never runs the two phases at
    once, so each gets every CPU the run reserved: the learner all of them, the rollout workers
    (which generate together) an equal share each. The pipelined loop runs them at once: the
    rollout workers keep their own reservations and the learner, the larger part of a step in
    every setting measured (demo, tiny and small single-turn), takes every CPU, its threads
    sleeping while the rollout's hold the cores. On 2 cores that made one_step_off 1.10x (tiny)
    and 1.01x (small) the synchronous loop's speed, where each on its own core was 1.27x and
    0.88x, and both on both cores spinning 0.5x (`bench/pipeline.py`, docs: Pipelined training).
    `resources.share_cpus: false` keeps each actor on its own reservation, as when rollout and
    learner sit on separate machines."""
    res = config.resources
    own_rollout, own_learner = max(1, int(res.rollout.num_cpus)), max(1, int(res.learner.num_cpus))
    if not res.share_cpus:
        return ActorThreads(own_rollout, own_learner, passive=False)
    total = max(1, int(policy_cpus(config)))
    all_learner = max(1, total // res.learner.num_workers)
    if config.trainer.pipeline == "one_step_off":
        return ActorThreads(own_rollout, all_learner, passive=True)
    return ActorThreads(max(1, total // config.rollout.num_workers), all_learner, passive=False)


def start_actors(
    config: ExperimentConfig,
    model_dir: str,
    reference_dir: str,
    placement: Placement,
    servers: tuple[ServedSimulator, ...] = (),
    precision: str | None = None,
):
    """Rollout workers and the learner's ranks, each in its bundle of the run's placement group;
    `servers`: the run's simulator servers, which the workers' `llm` users talk to; `precision`:
    the learner's, pinned by a resumed run's checkpoint.
    Ray restarts a worker that dies (the pool re-runs its groups); a dead learner rank ends the
    run (`LearnerFailed`)."""
    import ray

    res = config.resources
    settings = config.rollout_settings(servers)
    threads = actor_threads(config)
    # An actor's own environment, for OpenMP to read as its process starts.
    runtime_env = {"runtime_env": {"env_vars": threads.env()}} if threads.passive else {}
    sampling_seed = config.seed if config.rollout.sampling_seed is None else config.rollout.sampling_seed
    workers = [
        ray.remote(RolloutWorker)
        .options(
            num_cpus=res.rollout.num_cpus,
            num_gpus=res.rollout.num_gpus,
            scheduling_strategy=placement.strategy(bundle),
            max_restarts=config.faults.max_rollout_restarts,
            max_task_retries=0,
            **runtime_env,
        )
        .remote(model_dir, settings, sampling_seed + i, threads=None if res.rollout.num_gpus else threads.rollout)
        for i, bundle in enumerate(placement.rollout_bundles)
    ]
    settings_ = config.learner_settings(precision)

    def learner_rank(rank: int, group: GroupSpec | None):
        return (
            ray.remote(Learner)
            .options(
                num_cpus=res.learner.num_cpus,
                num_gpus=res.learner.num_gpus,
                scheduling_strategy=placement.strategy(placement.learner_bundles[rank]),
                **runtime_env,
            )
            .remote(
                model_dir,
                settings_,
                config.seed,
                threads=None if res.learner.num_gpus else threads.learner,
                reference_dir=reference_dir,
                group=group,
            )
        )

    learner = start_learner_group(learner_rank, res.learner.num_workers, placement.strategy(placement.learner_bundles[0]))
    ray.get([w.__ray_ready__.remote() for w in workers])
    return workers, learner
