"""`goldilocks sweep`, `report` and `ui`: many runs, read back. The only room of the project that
reaches `sweeps/` (the CLI sits above it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import ConfigOpt, SetOpt, _config, _fail, _progress, app, console
from orchestrator.config import ConfigError


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep YAML (sweeps/*.yaml).")],
    storage: Annotated[str | None, typer.Option(help="Optuna storage URL (default: the file's, else sqlite in workdir).")] = None,
    n_trials: Annotated[int | None, typer.Option(min=1, help="Trial budget (default: the file's `trials`).")] = None,
    parallel: Annotated[int | None, typer.Option(min=1, help="Trials at once (default: the file's `parallel`).")] = None,
    set_: SetOpt = None,
) -> None:
    """Sweep curriculum settings: an Optuna study whose trials are training runs on Ray, K at a time.
    Re-running the same command continues the study."""
    from sweeps.runner import run_sweep
    from sweeps.sweep_config import load_sweep

    try:
        spec, base = load_sweep(file, set_ or [])
    except ConfigError as exc:
        _fail(str(exc))
    budget = n_trials or spec.trials
    with _progress("trials") as progress:
        task = progress.add_task("sweep", total=budget, status=f"{parallel or spec.parallel} at a time")

        def on_trial(number: int, outcome, done: int) -> None:
            value = f" {outcome.value:.3f}" if outcome.value is not None else ""
            detail = f"trial {number} {outcome.state}{value} {outcome.message}".strip()
            progress.console.print(detail)
            progress.update(task, completed=done, status=detail)

        summary = run_sweep(spec, base, storage=storage, n_trials=n_trials, parallel=parallel, on_trial=on_trial)
    console.print(f"[bold green]sweep {summary.study_name} done:[/] {summary.trials}")
    if summary.best_value is not None:
        console.print(f"best {spec.objective.metric} = {summary.best_value:.3f} with {summary.best_params}")
    console.print(f"MLflow parent run: [bold]{summary.parent_run_id}[/]  (goldilocks report {summary.parent_run_id} --out DIR)")
    console.print(f"trials: optuna trials --study-name {summary.study_name} --storage {summary.storage}")


@app.command("report")
def report_runs(
    run_ids: Annotated[list[str], typer.Argument(help="MLflow run ids; a sweep's parent run stands for its trials.")],
    out: Annotated[Path, typer.Option(help="Folder for curves.png and runs.csv.")] = Path("report"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Comparison plots of runs read back from MLflow (pass rate with band, difficulty, reward, entropy)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from orchestrator.tracking.run_report import fetch_histories, plot_runs, runs_table

    cfg = _config(config, set_)
    client = MlflowClient(tracking_uri=cfg.tracking.uri)
    runs = []
    for run_id in run_ids:
        try:
            run = client.get_run(run_id)
        except MlflowException:
            _fail(f"no MLflow run {run_id} in {cfg.tracking.uri}")
        children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
        runs += children or [run]
    labels = {r.info.run_id: r.info.run_name or r.info.run_id for r in runs}
    histories = fetch_histories(client, list(labels))
    png = plot_runs({labels[rid]: h for rid, h in histories.items()}, out / "curves.png", f"{len(labels)} runs")
    csv = runs_table(runs, out / "runs.csv")
    console.print(f"wrote {png} and {csv}")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the MLflow UI.")] = 5000,
    host: Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps it off the network.")] = "127.0.0.1",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Start the MLflow UI for the configured tracking store (and say how to open the Optuna studies)."""
    import subprocess
    import sys

    cfg = _config(config, set_)
    workdir = Path(cfg.workdir)
    studies = sorted(workdir.glob("sweep-*.db")) + sorted(workdir.glob("*/curriculum.db"))
    for db in studies[:10]:
        console.print(f"Optuna study: optuna-dashboard sqlite:///{db.resolve()}")
    console.print(f"MLflow UI on http://{host}:{port} for {cfg.tracking.uri} (Ctrl-C stops it)")
    from orchestrator.tracking.mlflow_tracker import experiment_page

    if page := experiment_page(cfg.tracking.uri, cfg.tracking.experiment, f"http://{host}:{port}"):
        console.print(f"experiment {cfg.tracking.experiment}: {page}")
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", cfg.tracking.uri, "--host", host, "--port", str(port)]
    try:
        raise typer.Exit(subprocess.call(command))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
