"""Servers the tests start themselves: a free loopback port, waiting until one answers, and
stopping its whole process session (the server and whatever it spawned)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, seconds: float, log: Path, any_answer: bool = False) -> None:
    """Until `url` answers 200 (with `any_answer`, any HTTP status, e.g. 401 before a token);
    on timeout the server's log is the error."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError:
            if any_answer:
                return
            time.sleep(1)
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {seconds}s:\n{log.read_text()}")


def stop_session(process: subprocess.Popen, grace_s: float = 30) -> None:
    """SIGTERM to the process group, SIGKILL after `grace_s` (at once when 0)."""
    with contextlib.suppress(ProcessLookupError):
        if grace_s:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace_s)
                return
            except subprocess.TimeoutExpired:
                pass
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def vllm_servers(served_name: str) -> list:
    """The vLLM OpenAI servers alive that the running test started (by the PYTEST_CURRENT_TEST
    their environment inherited, so a test beside it in another worker is not counted) and that
    serve `served_name` (others, such as the session's own `tiny-sim` server, are not counted)."""
    import psutil

    marker = os.environ["PYTEST_CURRENT_TEST"]
    found = []
    for process in psutil.process_iter(["cmdline"]):
        args = process.info["cmdline"] or []
        if "vllm.entrypoints.openai.api_server" in args and served_name in args:
            at = args.index(served_name)
            try:
                ours = process.environ().get("PYTEST_CURRENT_TEST") == marker
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                continue
            if at and args[at - 1] == "--served-model-name" and ours:
                found.append(process)
    return found


def left_by_this_test(within_s: float = 30.0) -> list[str]:
    """The processes the running test started, through any chain of parents (a CLI, its Ray
    cluster, a server, the server's engine), still alive after `within_s`: found by the
    PYTEST_CURRENT_TEST their environment inherited. What is left: each one's command line."""
    import psutil

    marker = os.environ["PYTEST_CURRENT_TEST"]
    deadline = time.monotonic() + within_s
    while True:
        left = []
        for process in psutil.process_iter(["pid", "cmdline", "status"]):
            if process.info["pid"] == os.getpid() or process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            try:
                if process.environ().get("PYTEST_CURRENT_TEST") == marker:
                    left.append(" ".join(process.info["cmdline"] or []) or process.name())
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                continue
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1.0)
