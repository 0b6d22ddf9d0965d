"""`goldilocks submit` / `goldilocks jobs`: runs and sweeps as Ray jobs on a cluster.

The project directory travels as the job's working_dir (without .venv, run outputs and caches),
together with the resolved experiment config, so the job runs exactly what was validated here.
Secrets are never part of the config, only the names of the environment variables that hold them:
their values go to the job as runtime-env variables, never into the entrypoint string, a log line
or an MLflow param. On the cluster the job's driver joins the cluster (`ray.address=auto`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.config import ExperimentConfig, with_overrides

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STAGING = ".goldilocks-submit"
"""Folder in the project where a submission's resolved config waits to travel (git-ignored)."""
EXCLUDES = [".venv", ".git", "runs", "mlruns", "mlartifacts", "*.db", "__pycache__", ".pytest_cache", ".ruff_cache", "report"]
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


class SubmitError(RuntimeError):
    """The job could not be submitted or followed; the message says why."""


@dataclass(frozen=True)
class Submission:
    job_id: str
    address: str


def secret_env(config: ExperimentConfig) -> dict[str, str]:
    """Values of the secrets the config names, from this shell's environment (a simulator the run
    serves itself wants no key)."""
    sim = config.simulator
    names = [sim.api_key_env] if sim.name == "llm" and sim.endpoint and sim.api_key_env else []
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise SubmitError(f"simulator.api_key_env names {missing[0]}, which is not set in this shell")
    return {n: os.environ[n] for n in names}


def _client(address: str):
    """Ray clusters started by `ray start` ask for a token by default; where this machine holds
    one (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token), the client sends it."""
    token_path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
    if "RAY_AUTH_TOKEN" in os.environ or token_path.is_file():
        os.environ.setdefault("RAY_AUTH_MODE", "token")  # read when Ray is imported
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address)
    except Exception as exc:  # connection, version and authentication errors all end here
        raise SubmitError(f"cannot use the Ray job server at {address}: {type(exc).__name__}: {exc}") from None


def submit(kind: str, config: ExperimentConfig, sweep_file: Path | None, overrides: list[str], address: str) -> Submission:
    """`kind` run: the resolved config travels; sweep: the sweep file and the `--set` overrides."""
    runtime_env = {"working_dir": str(PROJECT_ROOT), "excludes": EXCLUDES, "env_vars": secret_env(config)}
    client = _client(address)
    name = uuid.uuid4().hex[:12]
    staged = PROJECT_ROOT / STAGING / f"{name}.json"
    if kind == "run":
        entrypoint = f"python -m orchestrator.cli.job_entry run --config {STAGING}/{name}.json"
    else:
        assert sweep_file is not None
        inside = sweep_file.resolve()
        if not inside.is_relative_to(PROJECT_ROOT):
            raise SubmitError(f"{sweep_file}: a submitted sweep file must lie inside the project ({PROJECT_ROOT}) to travel")
        sets = " ".join(f"--set {shlex.quote(o)}" for o in [*overrides, "ray.address=auto"])
        entrypoint = f"python -m orchestrator.cli.job_entry sweep {shlex.quote(str(inside.relative_to(PROJECT_ROOT)))} {sets}"
    try:
        if kind == "run":
            staged.parent.mkdir(exist_ok=True)
            cluster_config = with_overrides(config, ["ray.address=auto"])
            staged.write_text(json.dumps(cluster_config.model_dump(mode="json"), indent=1))
        metadata = {"goldilocks.kind": kind}
        job_id = _submit_when_agent_is_up(client, entrypoint=entrypoint, runtime_env=runtime_env, metadata=metadata)
        return Submission(job_id, address)
    except RuntimeError as exc:
        raise SubmitError(f"the job server at {address} refused the job: {exc}") from None
    finally:
        staged.unlink(missing_ok=True)


AGENT_WAIT_S = 120.0


def _agent_not_up(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and "No available agent" in str(exc)


def _submit_when_agent_is_up(client, **job) -> str:
    """A head node that has just started answers on its dashboard before its job agent is up, and
    refuses jobs meanwhile ("No available agent ..., try again later"): wait for it a while."""
    from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

    for attempt in Retrying(
        retry=retry_if_exception(_agent_not_up), wait=wait_fixed(2.0), stop=stop_after_delay(AGENT_WAIT_S), reraise=True
    ):
        with attempt:
            return client.submit_job(**job)
    raise AssertionError("unreachable: Retrying either returns or re-raises")


def status(job_id: str, address: str) -> str:
    try:
        return str(_client(address).get_job_status(job_id).value)
    except RuntimeError as exc:
        raise SubmitError(f"no job {job_id} at {address}: {exc}") from None


def logs(job_id: str, address: str) -> str:
    try:
        return _client(address).get_job_logs(job_id)
    except RuntimeError as exc:
        raise SubmitError(f"no job {job_id} at {address}: {exc}") from None


def follow(job_id: str, address: str, write: Callable[[str], None]) -> None:
    """Stream the job's logs until it ends."""
    client = _client(address)

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    asyncio.run(tail())


def stop(job_id: str, address: str) -> bool:
    try:
        return bool(_client(address).stop_job(job_id))
    except RuntimeError as exc:
        raise SubmitError(f"no job {job_id} at {address}: {exc}") from None


def wait(job_id: str, address: str, poll_s: float = 2.0) -> str:
    while (state := status(job_id, address)) not in TERMINAL:
        time.sleep(poll_s)
    return state
