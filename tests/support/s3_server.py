"""A real S3 server on 127.0.0.1 for the tests: moto's server mode (`moto_server`), in its own
process session, with credentials it accepts set in the environment (Ray's workers inherit them)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support.processes import free_port, stop_session, wait_until_up

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "goldilocks", "AWS_SECRET_ACCESS_KEY": "goldilocks", "AWS_DEFAULT_REGION": "us-east-1"}


@contextlib.contextmanager
def s3_server(workdir: Path) -> Iterator[str]:
    """Yields the base URI of an empty bucket prefix, e.g.
    `s3://goldilocks/runs?endpoint_override=127.0.0.1:PORT&scheme=http`."""
    beside = Path(sys.executable).with_name("moto_server")  # this environment's, not another on PATH
    executable = str(beside) if beside.exists() else shutil.which("moto_server") or "moto_server"
    port = free_port()
    log = workdir / "moto.log"
    previous = {key: os.environ.get(key) for key in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    with log.open("w") as out:
        server = subprocess.Popen(
            [executable, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/moto-api/", 60, log)
        yield f"s3://goldilocks/runs?endpoint_override=127.0.0.1:{port}&scheme=http"
    finally:
        stop_session(server, grace_s=5)
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
