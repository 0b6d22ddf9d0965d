"""The run's actors on Ray: how many threads each gets, and starting them in the run's placement
group."""

from __future__ import annotations

from orchestrator.cluster.learner_group import start_learner_group
from orchestrator.cluster.placement import Placement
from orchestrator.cluster.ray_session import policy_cpus
from orchestrator.config import ExperimentConfig
from orchestrator.worker_settings import learner_settings, rollout_settings
from workers.fsdp_group import GroupSpec
from workers.learner import Learner
from workers.rollout_worker import RolloutWorker
from workers.simulator_server import ServedSimulator


def actor_threads(config: ExperimentConfig) -> tuple[int, int]:
    """(each rollout worker's, the learner's) CPU threads. The synchronous loop never runs the two
    phases at once, so each phase gets every CPU the run reserved: the learner all of them, the
    rollout workers (which generate together) an equal share each. The pipelined loop runs them
    at once, and `resources.share_cpus: false` asks for it: each keeps its own reservation."""
    res = config.resources
    if config.trainer.pipeline == "one_step_off" or not res.share_cpus:
        return max(1, int(res.rollout.num_cpus)), max(1, int(res.learner.num_cpus))
    total = max(1, int(policy_cpus(config)))
    return max(1, total // config.rollout.num_workers), max(1, total // res.learner.num_workers)


def start_actors(
    config: ExperimentConfig,
    model_dir: str,
    reference_dir: str,
    placement: Placement,
    servers: tuple[ServedSimulator, ...] = (),
):
    """Rollout workers and the learner's ranks, each in its bundle of the run's placement group;
    `servers`: the run's simulator servers, which the workers' `llm` users talk to.
    Ray restarts a worker that dies (the pool re-runs its groups); a dead learner rank ends the
    run (`LearnerFailed`)."""
    import ray

    res = config.resources
    settings = rollout_settings(config, servers)
    rollout_threads, learner_threads = actor_threads(config)
    sampling_seed = config.seed if config.rollout.sampling_seed is None else config.rollout.sampling_seed
    workers = [
        ray.remote(RolloutWorker)
        .options(
            num_cpus=res.rollout.num_cpus,
            num_gpus=res.rollout.num_gpus,
            scheduling_strategy=placement.strategy(bundle),
            max_restarts=config.faults.max_rollout_restarts,
            max_task_retries=0,
        )
        .remote(model_dir, settings, sampling_seed + i, threads=None if res.rollout.num_gpus else rollout_threads)
        for i, bundle in enumerate(placement.rollout_bundles)
    ]
    settings_ = learner_settings(config)

    def learner_rank(rank: int, group: GroupSpec | None):
        return (
            ray.remote(Learner)
            .options(
                num_cpus=res.learner.num_cpus,
                num_gpus=res.learner.num_gpus,
                scheduling_strategy=placement.strategy(placement.learner_bundles[rank]),
            )
            .remote(
                model_dir,
                settings_,
                config.seed,
                threads=None if res.learner.num_gpus else learner_threads,
                reference_dir=reference_dir,
                group=group,
            )
        )

    learner = start_learner_group(learner_rank, res.learner.num_workers, placement.strategy(placement.learner_bundles[0]))
    ray.get([w.__ray_ready__.remote() for w in workers])
    return workers, learner
