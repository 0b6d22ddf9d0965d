"""Run a server with every process it starts in a process group of its own, and end the group
with it.

    python -m workers.server_group COMMAND [ARGS...]

vLLM's OpenAI server runs its engine in a child process (`VLLM::EngineCore`). The kernel's
parent-death signal reaches only a direct child, so a server killed with its actor left that engine
behind, holding its memory, for as long as the machine ran. This wrapper is the actor's child: the
server and whatever it starts share a new process group, which the wrapper kills whole when it is
told to stop (SIGTERM: the actor's death, or the actor stopping the server) and when the server
exits by itself, whose exit status it then passes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def _end_group(leader: int) -> None:
    try:
        os.killpg(leader, signal.SIGKILL)
    except ProcessLookupError:
        pass  # every member has exited already


def main(command: list[str]) -> int:
    if not command:
        print("usage: python -m workers.server_group COMMAND [ARGS...]", file=sys.stderr)
        return 2
    leaders: list[int] = []

    def stop(signum: int, frame: object) -> None:
        for leader in leaders:
            _end_group(leader)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = subprocess.Popen(command, start_new_session=True)
    leaders.append(server.pid)
    code = server.wait()
    _end_group(server.pid)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
