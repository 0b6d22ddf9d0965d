"""Shared tracking: a real `mlflow server` on 127.0.0.1 backed by PostgreSQL, and an Optuna
storage in PostgreSQL; a short training run and a 2-trial sweep write to both.

Needs a PostgreSQL on 127.0.0.1:5432 with a role that may create databases:
`GOLDILOCKS_TEST_PG` (default postgresql://goldilocks:goldilocks@127.0.0.1:5432/postgres);
`.ci/postgres.sh` sets one up from Debian's package."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from orchestrator.config import load_config
from orchestrator.driver import train
from sweeps.runner import run_sweep
from sweeps.sweep_config import load_sweep
from tests.support.processes import free_port, stop_session, wait_until_up

pytestmark = pytest.mark.slow

ADMIN_URL = os.environ.get("GOLDILOCKS_TEST_PG", "postgresql://goldilocks:goldilocks@127.0.0.1:5432/postgres")
SMOKE = Path(__file__).resolve().parents[2] / "sweeps" / "smoke.yaml"


@pytest.fixture
def databases():
    psycopg = pytest.importorskip("psycopg", reason="needs the postgres extra: pip install -e '.[postgres]'")
    try:
        admin = psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {ADMIN_URL} ({str(exc).strip()}); run .ci/postgres.sh or set GOLDILOCKS_TEST_PG")
    names = [f"gl_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("mlflow", "optuna")]
    with admin.cursor() as cur:
        for name in names:
            cur.execute(f"CREATE DATABASE {name}")
    base = ADMIN_URL.rsplit("/", 1)[0]
    yield [f"{base}/{name}" for name in names]
    with admin.cursor() as cur:
        for name in names:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def mlflow_server(databases, tmp_path):
    port = free_port()
    log = open(tmp_path / "mlflow-server.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            databases[0],
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/health", 120, tmp_path / "mlflow-server.log")
    yield url
    stop_session(server)


def test_a_run_and_a_sweep_share_an_mlflow_server_and_a_postgres_study(tiny_model, databases, mlflow_server, tmp_path):
    overrides = [f"workdir={tmp_path}/runs", f"tracking.uri={mlflow_server}", "tracking.experiment=shared"]
    cfg = load_config(None, [*overrides, "trainer.steps=2", "rollout.groups_per_step=2"])
    summary = train(cfg, log=lambda m: None)
    client = MlflowClient(tracking_uri=mlflow_server)
    assert client.get_run(summary.run_id).info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(summary.run_id, "curriculum/pass_rate")] == [0, 1]
    assert {a.path for a in client.list_artifacts(summary.run_id)} >= {"config", "plots"}

    sweep, base = load_sweep(SMOKE, [*overrides, "trainer.steps=2"])
    result = run_sweep(sweep, base, storage=databases[1], n_trials=2, parallel=2)
    assert result.trials.get("complete", 0) + result.trials.get("pruned", 0) == 2
    study = optuna.load_study(study_name="smoke", storage=databases[1])
    assert len(study.trials) == 2
    experiment = client.get_experiment_by_name("shared")
    runs = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    assert len(runs) == 2
    assert {a.path for a in client.list_artifacts(result.parent_run_id, "sweep")} >= {"sweep/trials.csv", "sweep/comparison.png"}
