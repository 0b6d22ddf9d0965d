"""The run's placement group on a real local Ray cluster: reserved before the actors, one bundle
each, released after; a request the cluster can never hold fails at once, naming the keys."""

import os

import pytest
import ray
from ray.util.placement_group import placement_group_table

from orchestrator.cluster.placement import PlacementError, reserve
from orchestrator.cluster.ray_session import ray_session
from orchestrator.config import load_config

pytestmark = pytest.mark.slow


@ray.remote
def where() -> str:
    return ray.get_runtime_context().get_placement_group_id() or ""


def test_actors_run_inside_the_reserved_group_and_it_is_released():
    cfg = load_config(None, ["rollout.num_workers=2", "resources.rollout.num_cpus=0.5", "resources.learner.num_cpus=0.5"])
    with ray_session(cfg):
        with reserve(cfg, log=lambda message: None) as placement:
            table = placement_group_table(placement.group)
            assert table["state"] == "CREATED"
            assert [b["CPU"] for b in table["bundles"].values()] == [0.5, 0.5, 0.5]
            assert placement.rollout_bundles == (0, 1) and placement.learner_bundles == (2,)
            inside = [where.options(num_cpus=0.5, scheduling_strategy=placement.strategy(i)).remote() for i in range(3)]
            assert set(ray.get(inside)) == {placement.group.id.hex()}
            group = placement.group
        assert placement_group_table(group)["state"] == "REMOVED"


def test_a_run_without_ray_address_starts_its_own_cluster_whatever_RAY_ADDRESS_says(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # nothing listens there
    with ray_session(load_config(None, ["ray.num_cpus=3"])):
        assert ray.cluster_resources()["CPU"] == 3
        assert "RAY_ADDRESS" not in os.environ  # nor do the cluster's own processes see it
    assert not ray.is_initialized() and os.environ["RAY_ADDRESS"] == "127.0.0.1:9"


def test_more_gpus_than_the_cluster_has_fails_at_once_naming_the_keys():
    base = load_config(None, [])
    with ray_session(base):
        gpus = int(ray.cluster_resources().get("GPU", 0))
        cfg = load_config(
            None, [f"rollout.num_workers={gpus + 1}", "resources.rollout.num_gpus=1", "resources.rollout.num_cpus=0.1"]
        )
        named = r"set by resources\.rollout\.num_gpus \(x rollout\.num_workers\), resources\.placement"
        with pytest.raises(PlacementError, match=rf"{gpus + 1} GPU in all; the cluster has .*{gpus} GPU.*{named}"):
            with reserve(cfg, log=lambda message: None):
                pass


def test_simulator_servers_asking_for_more_gpus_than_the_cluster_has_fail_naming_their_key():
    base = load_config(None, ["ray.num_cpus=4"])
    with ray_session(base):
        gpus = int(ray.cluster_resources().get("GPU", 0))
        cfg = load_config(
            None,
            [
                "simulator.name=llm",
                "simulator.model=tiny",
                f"simulator.serve.num_workers={gpus + 1}",
                "simulator.serve.num_gpus=1",
                "simulator.serve.num_cpus=0.1",
            ],
        )
        with pytest.raises(PlacementError, match=r"set by simulator\.serve\.num_gpus \(x simulator\.serve\.num_workers\)"):
            with reserve(cfg, log=lambda message: None):
                pass
