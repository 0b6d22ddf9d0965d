"""`server_group` ends a server's whole process tree: a child the server started does not outlive
it, whether the wrapper is told to stop, is killed outright, or the server exits by itself."""

import os
import signal
import subprocess
import sys
import time

SERVER = """
import subprocess, sys, time
engine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print(engine.pid, flush=True)
time.sleep(float(sys.argv[1]))
sys.exit(3)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"  # a zombie has ended; its parent has not reaped it yet


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start(server_s: float) -> tuple[subprocess.Popen, int]:
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "workers.server_group", sys.executable, "-c", SERVER, str(server_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    engine = int(wrapper.stdout.readline())
    return wrapper, engine


def test_a_stopped_wrapper_takes_the_servers_children_with_it():
    wrapper, engine = start(server_s=300)
    try:
        assert alive(engine)
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=10) == 128 + signal.SIGTERM
        assert gone_within(engine, 10)
    finally:
        wrapper.kill()


def test_a_wrapper_killed_outright_still_takes_the_servers_children_with_it():
    """Ray SIGKILLs a worker's direct children when the worker exits: the wrapper the actor
    started gets no chance to clean up, so its reaper must."""
    wrapper, engine = start(server_s=300)
    try:
        assert alive(engine)
        wrapper.kill()
        assert gone_within(engine, 10)
    finally:
        wrapper.kill()


def test_a_server_that_exits_leaves_no_child_and_its_status_is_passed_on():
    wrapper, engine = start(server_s=0.5)
    try:
        assert wrapper.wait(timeout=30) == 3
        assert gone_within(engine, 10)
    finally:
        wrapper.kill()


def test_a_command_is_required():
    done = subprocess.run([sys.executable, "-m", "workers.server_group"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr
