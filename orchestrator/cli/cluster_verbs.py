"""`goldilocks submit` and `goldilocks jobs`: runs and sweeps on a Ray cluster through its Jobs API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import SetOpt, _config, _fail, app, console
from orchestrator.config import ConfigError

AddressOpt = Annotated[str, typer.Option(help="Ray dashboard of the cluster, e.g. http://HEAD:8265.")]
jobs_app = typer.Typer(help="Follow and stop submitted jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@app.command()
def submit(
    kind: Annotated[str, typer.Argument(help="run or sweep")],
    file: Annotated[Path, typer.Argument(help="Experiment YAML (run) or sweep YAML (sweep).")],
    address: AddressOpt,
    set_: SetOpt = None,
    wait: Annotated[bool, typer.Option(help="Stream the job's logs and wait until it ends.")] = False,
) -> None:
    """Submit a run or a sweep to a Ray cluster through its Jobs API."""
    from orchestrator.cluster.job_submission import SubmitError, follow, status
    from orchestrator.cluster.job_submission import submit as submit_job

    if kind not in ("run", "sweep"):
        _fail(f"submit: expected run or sweep, got {kind!r}")
    if kind == "run":
        cfg = _config(file, set_)
    else:
        from sweeps.sweep_config import load_sweep

        try:
            _, cfg = load_sweep(file, set_ or [])
        except ConfigError as exc:
            _fail(str(exc))
    try:
        job = submit_job(kind, cfg, file if kind == "sweep" else None, set_ or [], address)
    except SubmitError as exc:
        _fail(str(exc))
    console.print(f"submitted [bold]{job.job_id}[/] to {address}")
    console.print(f"follow it: goldilocks jobs logs {job.job_id} --address {address} --follow")
    if wait:
        try:
            follow(job.job_id, address, lambda chunk: console.out(chunk, end="", highlight=False))
            final = status(job.job_id, address)
        except SubmitError as exc:
            _fail(str(exc))
        console.print(f"job {job.job_id}: {final}")
        if final != "SUCCEEDED":
            raise typer.Exit(1)


@jobs_app.command("status")
def jobs_status(job_id: str, address: AddressOpt) -> None:
    """The job's state: PENDING, RUNNING, SUCCEEDED, FAILED or STOPPED."""
    from orchestrator.cluster.job_submission import SubmitError, status

    try:
        console.print(status(job_id, address))
    except SubmitError as exc:
        _fail(str(exc))


@jobs_app.command("logs")
def jobs_logs(
    job_id: str,
    address: AddressOpt,
    follow_: Annotated[bool, typer.Option("--follow", "-f", help="Keep streaming until the job ends.")] = False,
) -> None:
    """The job's output so far (or streamed, with --follow)."""
    from orchestrator.cluster.job_submission import SubmitError, follow, logs

    try:
        if follow_:
            follow(job_id, address, lambda chunk: console.out(chunk, end="", highlight=False))
        else:
            console.out(logs(job_id, address), end="", highlight=False)
    except SubmitError as exc:
        _fail(str(exc))


@jobs_app.command("stop")
def jobs_stop(job_id: str, address: AddressOpt) -> None:
    """Ask the job to stop."""
    from orchestrator.cluster.job_submission import SubmitError, stop

    try:
        console.print(f"stop requested: {stop(job_id, address)}")
    except SubmitError as exc:
        _fail(str(exc))
