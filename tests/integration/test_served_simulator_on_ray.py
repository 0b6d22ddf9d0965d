"""The `llm` user served inside the run (simulator.serve) on a real local Ray cluster: two vLLM
simulator servers with the tiny model, RLVER's user rules, no endpoint started by hand. One server
is killed while it has requests in flight; Ray restarts it, its requests are retried on the other,
and the run loses no step."""

import pytest
from mlflow import MlflowClient

from orchestrator.config import load_config
from orchestrator.driver import train
from orchestrator.fault_injection import FaultPlan
from tests.support.processes import left_by_this_test, vllm_servers

pytestmark = pytest.mark.slow


def history(tmp_path, run_id: str, key: str) -> list[tuple[int, float]]:
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_a_run_serves_its_own_simulator_and_rides_out_a_killed_server(tiny_model, tmp_path):
    messages: list[str] = []
    cfg = load_config(
        None,
        [
            f"workdir={tmp_path}/runs",
            f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
            "tracking.experiment=served",
            "rollout.backend=hf",
            "rollout.num_workers=2",
            "rollout.group_size=3",
            "rollout.groups_per_step=2",
            "trainer.steps=2",
            "trainer.checkpoint_every=1",
            "resources.rollout.num_cpus=0.5",
            "resources.learner.num_cpus=0.5",
            "simulator.name=llm",
            "simulator.model=tiny",
            "simulator.profile=rlver",
            "simulator.max_turns=2",
            "simulator.analysis_max_tokens=32",
            "simulator.analysis_retries=0",
            "simulator.serve.num_workers=2",
            "simulator.serve.num_cpus=0.5",
            "simulator.serve.max_model_len=1024",
            "simulator.serve.cpu_kv_cache_gb=0.125",  # a fraction of a GiB: vLLM's env var took whole ones only
        ],
    )
    summary = train(cfg, log=messages.append, faults=FaultPlan(kill_simulator_at_step=1))
    assert (summary.run_dir / "FINISHED").exists()
    # No step missing, none logged twice; the restart is counted at the step it happened in.
    assert [s for s, _ in history(tmp_path, summary.run_id, "reward/mean")] == [0, 1]
    assert history(tmp_path, summary.run_id, "faults/simulator_restarts") == [(0, 0.0), (1, 1.0)]
    assert any("fault injection: killing simulator server_0" in m for m in messages)
    assert any("simulator server_0 was restarted; now at http://" in m for m in messages)
    # Per server and in total: before the kill both servers answered, and every request is counted once.
    # Both answer at step 0 whatever the seeds' hashes: each worker opens its group's three dialogues at once,
    # and the load bound (1.25 x the fair share) sends the third elsewhere when all prefer one server.
    per_server = [dict(history(tmp_path, summary.run_id, f"simulator/server_{i}/requests")) for i in (0, 1)]
    total = dict(history(tmp_path, summary.run_id, "simulator/requests"))
    assert per_server[0][0] > 0 and per_server[1][0] > 0
    assert all(per_server[0][step] + per_server[1][step] == total[step] > 0 for step in (0, 1))
    assert history(tmp_path, summary.run_id, "simulator/server_1/latency_p95_s")[0][1] > 0
    for i in (0, 1):  # sticky routing: a dialogue's later turns find its earlier ones cached
        assert history(tmp_path, summary.run_id, f"simulator/server_{i}/prefill_tokens")[0][1] > 0
        assert 0 < history(tmp_path, summary.run_id, f"simulator/server_{i}/prefix_cache_hit_rate")[0][1] < 1
    assert not vllm_servers("tiny"), "a simulator server outlived its run"
    assert left_by_this_test() == []  # the killed server's engine process (VLLM::EngineCore) included
