"""A Ray cluster of several nodes on one machine that share no disk: each node (`ray start`) and
each driver runs in its own mount namespace (`unshare -m`) over a private tmpfs at the same path,
so a file one of them writes there is on no other's disk. Custom resources pin the learner and the
rollout worker to their own nodes; the head holds the driver and no actor.

With storage on a real S3 server (moto) a run checkpoints from the learner's node, loses that node
mid-run, and resumes with its learner on a node that joined afterwards: every step is in MLflow
exactly once. With storage left on the driver's private disk, the run fails before its first step,
naming storage.uri."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from mlflow import MlflowClient

from orchestrator.checkpoints import checkpoints
from tests.support.processes import free_port
from tests.support.s3_server import s3_server
from workers import storage

BIN = Path(sys.executable).parent
STEPS = 8
PER_STEP = ("reward/mean", "curriculum/pass_rate", "actor/entropy", "perf/step_s")


def _why_no_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "needs root to give each node its own mount namespace (unshare -m)"
    if shutil.which("unshare") is None:
        return "needs util-linux's unshare"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -m is not permitted here: {probe.stderr.strip()}"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif((why := _why_no_namespaces()) is not None, reason=why or "")]


class Cluster:
    """The head and the nodes, each a process session whose whole tree is killed to stop it."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env
        self.private = root / "private"  # every namespace mounts its own tmpfs here
        self.private.mkdir()
        self.port = free_port()
        self.nodes: dict[str, subprocess.Popen] = {}

    def in_namespace(self, command: str, name: str) -> subprocess.Popen:
        """`command` in a new mount namespace with a private tmpfs at `self.private`."""
        script = f"mount -t tmpfs tmpfs {self.private} && mkdir -p {self.private}/cache && cd {self.private} && exec {command}"
        return subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            stdout=(self.root / f"{name}.log").open("w"),
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )

    def start_node(self, name: str, resources: dict[str, float], cpus: int) -> None:
        head = f"--head --port={self.port} --temp-dir={self.root}/ray --include-dashboard=false"
        where = head if name == "head" else f"--address=127.0.0.1:{self.port}"
        # Ports of their own: several nodes on one machine would all ask for the defaults.
        flags = ("dashboard-agent-listen-port", "dashboard-agent-grpc-port", "runtime-env-agent-port", "metrics-export-port")
        ports = " ".join(f"--{flag}={free_port()}" for flag in flags)
        command = f"{BIN}/ray start {where} --block --num-cpus={cpus} --resources='{json.dumps(resources)}' {ports}"
        self.nodes[name] = self.in_namespace(command, name)
        self.wait_for_nodes(len(self.nodes))

    def wait_for_nodes(self, count: int, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            out = subprocess.run(
                [BIN / "ray", "status", f"--address=127.0.0.1:{self.port}"], capture_output=True, text=True, env=self.env
            )
            if out.returncode == 0 and out.stdout.count("node_") >= count:
                return
            time.sleep(2)
        raise TimeoutError(f"the cluster did not reach {count} nodes:\n{out.stdout}{out.stderr}")

    def kill(self, name: str) -> None:
        process = self.nodes.pop(name)
        tree = psutil.Process(process.pid)
        for member in [*tree.children(recursive=True), tree]:
            member.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for name in list(self.nodes):
            self.kill(name)


@pytest.fixture(scope="module")
def cluster(tiny_model):
    root = Path(tempfile.mkdtemp(prefix="gl-mn-", dir="/tmp"))  # Ray's socket paths stay short
    with s3_server(root) as s3:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            storage.CACHE_ENV: str(root / "private" / "cache"),  # each node's own, on its private disk
            "RAY_AUTH_MODE": "disabled",  # a loopback test cluster: no token to hand every node and driver
        }
        nodes = Cluster(root, env)
        try:
            nodes.start_node("head", {"driver_node": 1}, cpus=0)
            nodes.start_node("learner-a", {"learner_node": 1}, cpus=1)
            nodes.start_node("rollout", {"rollout_node": 1}, cpus=1)
            yield nodes, s3
        finally:
            nodes.stop()
            shutil.rmtree(root, ignore_errors=True)


def driver_command(nodes: Cluster, tmp_path: Path, *sets: str, resume: bool = False) -> str:
    settings = [
        f"ray.address=127.0.0.1:{nodes.port}",
        f"workdir={nodes.private}/runs",
        f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        f"trainer.steps={STEPS}",
        "trainer.checkpoint_every=2",
        "trainer.eval_every=0",
        "rollout.backend=hf",
        "rollout.num_workers=1",
        "rollout.group_size=2",
        "rollout.groups_per_step=2",
        "resources.rollout.custom={rollout_node: 1}",
        "resources.learner.custom={learner_node: 1}",
        *sets,
    ]
    verb = "run --resume auto" if resume else "run"
    return f"{BIN}/goldilocks {verb} " + " ".join(f"--set '{s}'" for s in settings)


def test_storage_on_the_drivers_private_disk_fails_before_any_step_naming_storage_uri(cluster, tmp_path):
    nodes, _ = cluster
    driver = nodes.in_namespace(driver_command(nodes, tmp_path), "driver-private")
    assert driver.wait(timeout=300) != 0
    said = " ".join((nodes.root / "driver-private.log").read_text().split())  # unwrapped
    assert "storage.uri is unset, so runs are stored in workdir" in said, said
    assert "not usable from rollout worker 0" in said and "learner rank 0" in said
    assert "step 1/" not in said
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FAILED" and not run.data.metrics


def test_a_run_on_s3_loses_its_learner_node_and_resumes_on_another_with_every_step_once(cluster, tmp_path):
    nodes, s3 = cluster
    root = storage.join(s3, tmp_path.name)
    driver = nodes.in_namespace(driver_command(nodes, tmp_path, f"storage.uri={root}"), "driver-1")
    deadline = time.monotonic() + 600
    while not any(checkpoints(storage.join(root, run)) for run in storage.children(root)):
        assert driver.poll() is None, (nodes.root / "driver-1.log").read_text()
        assert time.monotonic() < deadline, "no checkpoint within 600 s"
        time.sleep(0.5)
    nodes.kill("learner-a")
    assert driver.wait(timeout=300) != 0, "the run ended before its learner's node was killed"
    assert "learner" in (nodes.root / "driver-1.log").read_text().lower()

    nodes.start_node("learner-b", {"learner_node": 1}, cpus=1)
    resumed = nodes.in_namespace(driver_command(nodes, tmp_path, f"storage.uri={root}", resume=True), "driver-2")
    assert resumed.wait(timeout=600) == 0, (nodes.root / "driver-2.log").read_text()
    said = (nodes.root / "driver-2.log").read_text()
    assert "resuming run" in said

    assert "models" in storage.children(root)  # the driver's tiny policy, published for the other nodes
    (run_id,) = set(storage.children(root)) - {"models"}
    assert storage.exists(storage.join(root, run_id, "FINISHED"))
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    assert client.get_run(run_id).info.status == "FINISHED"
    for key in PER_STEP:
        steps = sorted(m.step for m in client.get_metric_history(run_id, key))
        assert steps == list(range(STEPS)), (key, steps)
