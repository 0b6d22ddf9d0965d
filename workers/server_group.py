"""Run a server so that no process it starts outlives it.

    python -m workers.server_group COMMAND [ARGS...]

vLLM's OpenAI server runs its engine in a child process (`VLLM::EngineCore`). The kernel's
parent-death signal reaches only a direct child, so a server that died with its actor left that
engine behind, holding its memory (and a core), for as long as the machine ran.

Two processes do the work. The keeper, the actor's direct child, only forwards SIGTERM and passes
on an exit status: Ray SIGKILLs a worker's direct children when the worker exits
(`RAY_kill_child_processes_on_worker_exit`, on by default), which no cleanup survives. The reaper,
the keeper's child, gets SIGTERM when the keeper dies, however it dies; it is a child subreaper, so
whatever the server started is handed to it when the server dies, and it kills all of it when told
to stop and when the server exits by itself. Everything stays in the actor's process group, which
Ray kills whole where it ends a worker's group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _children() -> list[int]:
    """This process's live children, the orphans it adopted included."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == me:
            found.append(int(entry))
    return found


def _end_all(server: int | None) -> None:
    """The server first (its engine is then handed to this process), then every child left. By
    pid, not through Popen: this runs in a signal handler, maybe inside Popen.wait."""
    for _ in range(50):
        left = ([server] if server is not None else []) + [pid for pid in _children() if pid != server]
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        server = None
        time.sleep(0.05)


def _keep(reaper: int) -> int:
    """The keeper: SIGTERM and SIGINT go on to the reaper, whose exit status is this one's."""

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(reaper, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return _status(os.waitstatus_to_exitcode(os.waitpid(reaper, 0)[1]))


def _status(code: int) -> int:
    """A child's exit code as a shell reports it: 128 + N for one ended by signal N."""
    return code if code >= 0 else 128 - code


def main(command: list[str]) -> int:
    if not command:
        print("usage: python -m workers.server_group COMMAND [ARGS...]", file=sys.stderr)
        return 2
    prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl  # looked up here: a child may only call it
    keeper = os.getpid()
    reaper = os.fork()
    if reaper:
        return _keep(reaper)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != keeper:  # the keeper died before the line above could take effect
        return 128 + signal.SIGTERM
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    started: list[int] = []

    def stop(signum: int, frame: object) -> None:
        _end_all(started[0] if started else None)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The server dies with the reaper, however the reaper ends.
    server = subprocess.Popen(command, preexec_fn=lambda: prctl(PR_SET_PDEATHSIG, signal.SIGKILL))
    started.append(server.pid)
    code = server.wait()
    _end_all(None)
    return _status(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
