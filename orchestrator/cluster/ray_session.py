"""Starting and stopping Ray for a job: a private local cluster, or an existing one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping

from orchestrator.config import ExperimentConfig
from workers.backends.vllm_backend import ENGINE_ENV


def policy_cpus(config: ExperimentConfig) -> float:
    """The CPUs the rollout workers and the learner reserve together."""
    r = config.resources
    return r.learner.num_workers * r.learner.num_cpus + config.rollout.num_workers * r.rollout.num_cpus


def cpus_needed(config: ExperimentConfig) -> float:
    """Every CPU the run reserves: its policy's actors and its simulator servers."""
    serve = config.simulator.serve
    return policy_cpus(config) + serve.num_workers * serve.num_cpus


RAY_JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"
"""Set by Ray in a job's entrypoint process (`ray job submit -- goldilocks run ...`)."""


def cluster_address(config: ExperimentConfig, environ: Mapping[str, str]) -> str:
    """Where a run's `ray.init` goes: `ray.address` when set; the job's own cluster when this
    process is a Ray job's entrypoint; else "local", a new private cluster, whatever RAY_ADDRESS
    says (Ray's own default joins the cluster RAY_ADDRESS names, and a user of the Jobs CLI
    often has it exported, set to a dashboard URL)."""
    if config.ray.address:
        return config.ray.address
    return "auto" if RAY_JOB_ENV in environ else "local"


@contextlib.contextmanager
def ray_session(config: ExperimentConfig) -> Iterator[None]:
    """A local cluster lives in its own short temp dir (Ray's socket paths must stay under 107
    bytes) and is torn down with it, RAY_ADDRESS hidden from its processes meanwhile; an existing
    cluster is only connected to; inside Ray already (a sweep trial is a Ray task) the job uses
    the cluster it runs on."""
    import ray

    if ray.is_initialized():
        yield
        return

    env = {**ENGINE_ENV, "TOKENIZERS_PARALLELISM": "false"}
    for key, value in env.items():
        os.environ.setdefault(key, value)
    address = cluster_address(config, os.environ)
    if address != "local":
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()
        return
    temp_dir = tempfile.mkdtemp(prefix="gl-ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    num_cpus = config.ray.num_cpus or max(os.cpu_count() or 1, int(cpus_needed(config) + 0.999))
    exported = os.environ.pop("RAY_ADDRESS", None)
    try:
        ray.init(
            address="local",
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            _temp_dir=temp_dir,
            configure_logging=False,
        )
        try:
            yield
        finally:
            ray.shutdown()
            shutil.rmtree(temp_dir, ignore_errors=True)
    finally:
        if exported is not None:
            os.environ["RAY_ADDRESS"] = exported
