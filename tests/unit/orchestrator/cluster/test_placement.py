import pytest

from orchestrator.cluster.placement import bundles, keys, short_of, shortfall
from orchestrator.config import load_config

NODE_8CPU = {"CPU": 8.0, "memory": 1e10}
NODE_GPU = {"CPU": 16.0, "GPU": 4.0}


def test_one_bundle_per_rollout_worker_then_the_learner():
    cfg = load_config(
        None,
        [
            "rollout.num_workers=3",
            "resources.rollout.num_cpus=2",
            "resources.rollout.num_gpus=1",
            "resources.learner.num_cpus=4",
            "resources.learner.num_gpus=0.5",
        ],
    )
    assert bundles(cfg) == [{"CPU": 2.0, "GPU": 1.0}] * 3 + [{"CPU": 4.0, "GPU": 0.5}]


def test_a_cpu_run_asks_for_no_gpu_key():
    assert bundles(load_config(None, [])) == [{"CPU": 1.0}, {"CPU": 1.0}]


def test_a_run_that_fits_has_no_shortfall():
    assert shortfall([{"CPU": 1.0}, {"CPU": 1.0}], "PACK", [NODE_8CPU]) is None
    assert shortfall([{"CPU": 1.0, "GPU": 2.0}] * 2 + [{"CPU": 4.0, "GPU": 1.0}], "PACK", [NODE_GPU, NODE_GPU]) is None


def test_gpus_on_a_cpu_cluster_are_named():
    reason = shortfall([{"CPU": 1.0}, {"CPU": 1.0, "GPU": 1.0}], "PACK", [NODE_8CPU])
    assert reason is not None and "1 GPU" in reason and "0 GPU" in reason


def test_too_many_cpus_in_all():
    reason = shortfall([{"CPU": 6.0}, {"CPU": 6.0}], "SPREAD", [NODE_8CPU])
    assert reason is not None and "12 CPU" in reason and "8 CPU" in reason


def test_one_actor_must_fit_one_node():
    """Two 2-GPU nodes hold 4 GPUs in all, but not one 4-GPU tensor-parallel worker."""
    small = {"CPU": 16.0, "GPU": 2.0}
    reason = shortfall([{"CPU": 1.0, "GPU": 4.0}, {"CPU": 1.0}], "PACK", [small, small])
    assert reason is not None and "single node" in reason


def test_strict_pack_needs_everything_on_one_node():
    needed = [{"CPU": 6.0}, {"CPU": 6.0}]
    assert shortfall(needed, "PACK", [NODE_8CPU, NODE_8CPU]) is None
    assert "one node" in (shortfall(needed, "STRICT_PACK", [NODE_8CPU, NODE_8CPU]) or "")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["rollout.worker_cpus=2"], r"rollout\.worker_cpus: unknown key \(moved to resources\.rollout\.num_cpus\)"),
        (["resources.rollout.tensor_parallel_size=2"], "num_gpus must be 2"),
        (["resources.learner.num_gpus=2"], "a learner rank trains on one device"),
        (["resources.learner.num_workers=2", "resources.learner.num_gpus=0.5"], "each need a GPU of their own"),
        (
            ["resources.rollout.tensor_parallel_size=2", "resources.rollout.num_gpus=2", "rollout.backend=hf"],
            "tensor_parallel_size > 1 needs rollout.backend=vllm",
        ),
        (["resources.placement=ANYWHERE"], r"resources\.placement"),
    ],
)
def test_resource_config_errors_name_the_key(overrides, message):
    from orchestrator.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_simulator_servers_take_the_last_bundles():
    cfg = load_config(
        None,
        [
            "simulator.name=llm",
            "simulator.model=tiny",
            "simulator.serve.num_workers=2",
            "simulator.serve.num_cpus=2",
            "simulator.serve.num_gpus=0.5",
        ],
    )
    assert bundles(cfg) == [{"CPU": 1.0}, {"CPU": 1.0}] + [{"CPU": 2.0, "GPU": 0.5}] * 2


def test_a_gpu_shortfall_names_the_parts_that_ask_for_gpus():
    cfg = load_config(
        None, ["simulator.name=llm", "simulator.model=tiny", "simulator.serve.num_workers=2", "simulator.serve.num_gpus=1"]
    )
    assert short_of(bundles(cfg), [NODE_8CPU]) == frozenset({"GPU"})
    named = keys(cfg, frozenset({"GPU"}))
    assert named == "simulator.serve.num_gpus (x simulator.serve.num_workers), resources.placement"
    everything = keys(cfg)
    assert "resources.rollout.num_cpus" in everything and "simulator.serve.num_cpus / num_gpus" in everything
