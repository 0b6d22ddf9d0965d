"""`goldilocks submit` against a real Ray head (`ray start --head`, with its dashboard) in a
temporary directory: the job succeeds, its metrics are in MLflow, and the cluster is stopped."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.support.processes import free_port, stop_session, wait_until_up

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DEMO = str(Path(__file__).resolve().parents[2] / "configs" / "demo.yaml")


@pytest.fixture
def ray_head():
    """A head node in its own process session, killed as a whole at the end; its files live in
    a short temp dir (Ray's socket paths must stay under 107 bytes)."""
    root = Path(tempfile.mkdtemp(prefix="gl-head-", dir="/tmp"))
    port, dashboard = free_port(), free_port()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    head = subprocess.Popen(
        [
            BIN / "ray",
            "start",
            "--head",
            "--block",
            f"--port={port}",
            f"--dashboard-port={dashboard}",
            "--dashboard-host=127.0.0.1",
            # Ports of their own: another Ray on this machine (a run, a bench) holds the defaults,
            # and an agent that cannot bind leaves the head refusing jobs ("No available agent").
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            "--include-dashboard=true",
            "--num-cpus=2",
            f"--temp-dir={root}/ray",
        ],
        stdout=open(root / "head.log", "w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{dashboard}"
    wait_until_up(f"{url}/api/version", 120, root / "head.log", any_answer=True)  # 401 until a token is sent
    yield url, env
    stop_session(head, grace_s=0)  # `ray start --block` takes long to stop on SIGTERM
    shutil.rmtree(root, ignore_errors=True)


def submit_demo(url: str, env: dict, tmp_path: Path, *sets: str) -> subprocess.CompletedProcess:
    """`goldilocks submit run configs/demo.yaml --wait`, its outputs in `tmp_path`."""
    args = [BIN / "goldilocks", "submit", "run", DEMO, "--address", url, "--wait"]
    for s in [*sets, f"workdir={tmp_path}/runs", f"tracking.uri=sqlite:///{tmp_path}/mlflow.db"]:
        args += ["--set", s]
    env = {**env, "COLUMNS": "200"}
    return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)


def test_submit_errors_are_clear(tmp_path):
    out = subprocess.run(
        [BIN / "goldilocks", "submit", "train", DEMO, "--address", "http://127.0.0.1:9"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "expected run or sweep" in out.stdout
    out = subprocess.run(
        [
            BIN / "goldilocks",
            "submit",
            "run",
            DEMO,
            "--address",
            "http://127.0.0.1:9",
            "--set",
            "simulator.name=llm",
            "--set",
            "simulator.endpoint=http://x",
            "--set",
            "simulator.model=m",
            "--set",
            "simulator.api_key_env=GL_NOT_SET",
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "GL_NOT_SET"},
    )
    assert out.returncode == 2 and "GL_NOT_SET, which is not set in this shell" in out.stdout


PLANTED = "sk-gl-planted-4f1d9c0e7b2a"


def test_a_submitted_run_succeeds_logs_to_mlflow_and_its_secret_reaches_the_simulator_alone(
    tiny_model, ray_head, openai_stub, tmp_path
):
    """A run submitted with the simulator's API key in the submitting shell succeeds, its log is
    followed a line per step, `jobs status` / `jobs logs` find it and its metrics are in MLflow. The
    simulator endpoint gets the key as its bearer token, and neither the job's entrypoint, its
    logs, the CLI's output, MLflow's params and tags, nor any file the run wrote (the MLflow
    database, artifacts, checkpoints, the stored config) holds it. (One job for both: a submitted
    run costs a Ray job's start, vLLM's and the learner's.)"""
    url, env = ray_head
    env = {**env, "GL_PLANTED_KEY": PLANTED}
    llm = [f"simulator.endpoint={openai_stub.url}", "simulator.model=stub", "simulator.api_key_env=GL_PLANTED_KEY"]
    llm += ["simulator.name=llm", "trainer.eval_every=0"]
    out = submit_demo(url, env, tmp_path, "trainer.steps=2", "rollout.groups_per_step=2", *llm)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCEEDED" in out.stdout and "goldilocks jobs logs raysubmit_" in out.stdout
    assert "step 1/2  reward" in out.stdout and "step 2/2  reward" in out.stdout  # followed as it went: a line per step
    job_id = out.stdout.split("submitted ")[1].split()[0]

    status = subprocess.run(
        [BIN / "goldilocks", "jobs", "status", job_id, "--address", url], capture_output=True, text=True, env=env
    )
    assert status.stdout.strip() == "SUCCEEDED"
    logs = subprocess.run([BIN / "goldilocks", "jobs", "logs", job_id, "--address", url], capture_output=True, text=True, env=env)
    assert "Connecting to existing Ray cluster" in logs.stdout and "done. MLflow run id" in logs.stdout

    assert openai_stub.requests, "the simulator was never called"
    assert openai_stub.authorizations and set(openai_stub.authorizations) == {f"Bearer {PLANTED}"}
    # In a fresh interpreter: Ray reads its auth mode when first imported.
    job = "from orchestrator.cluster.job_submission import _client; import sys; c = _client(sys.argv[1]); "
    job += "print(c.get_job_info(sys.argv[2]).entrypoint); print(c.get_job_logs(sys.argv[2]))"
    seen = subprocess.run([sys.executable, "-c", job, url, job_id], capture_output=True, text=True, env=env, timeout=120)
    assert seen.returncode == 0 and "goldilocks" in seen.stdout, seen.stderr
    assert PLANTED not in seen.stdout + logs.stdout + out.stdout + out.stderr

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("goldilocks-demo").experiment_id])
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "curriculum/pass_rate")] == [0, 1]
    assert run.data.params["simulator.api_key_env"] == "GL_PLANTED_KEY"
    assert not [k for k, v in {**run.data.params, **run.data.tags}.items() if PLANTED in v]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in written) and any(p.suffix == ".safetensors" for p in written)
    assert not [p for p in written if PLANTED.encode() in p.read_bytes()]
