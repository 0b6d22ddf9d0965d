"""Which cluster a run's Ray session joins: the one it is told, the job's own, or a new one."""

from orchestrator.cluster.ray_session import RAY_JOB_ENV, cluster_address
from orchestrator.config import load_config


def test_ray_address_wins_and_a_plain_run_starts_its_own_cluster_whatever_ray_address_says():
    told = load_config(None, ["ray.address=10.0.0.5:6379"])
    plain = load_config(None, [])
    assert cluster_address(told, {RAY_JOB_ENV: "{}"}) == "10.0.0.5:6379"
    assert cluster_address(plain, {}) == "local"
    assert cluster_address(plain, {"RAY_ADDRESS": "http://head:8265"}) == "local"


def test_a_ray_jobs_entrypoint_joins_the_jobs_cluster():
    """`ray job submit -- goldilocks run ...`: Ray sets the job's config (and RAY_ADDRESS) in
    the entrypoint's environment; a new cluster there would run beside the real one."""
    assert cluster_address(load_config(None, []), {RAY_JOB_ENV: "{}", "RAY_ADDRESS": "10.0.0.5:6379"}) == "auto"
