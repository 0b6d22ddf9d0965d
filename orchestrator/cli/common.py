"""What every verb of `goldilocks` shares: the typer app, the console, the common options and how
a verb fails (a red line naming the field or file, exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestrator.config import ConfigError, load_config

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Curriculum RL for empathetic dialogue agents: keep the batch pass rate in a medium band.",
)
console = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Experiment YAML (default: configs/demo.yaml).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", help="Override a key: --set algo.lr=1e-4 (repeatable).")]


def _progress(unit: str) -> Progress:
    columns = (
        TextColumn(f"[bold]{unit}"),
        MofNCompleteColumn(),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    return Progress(*columns, console=console)


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _config(path: Path | None, overrides: list[str] | None):
    try:
        return load_config(path, overrides or [])
    except ConfigError as exc:
        _fail(str(exc))
