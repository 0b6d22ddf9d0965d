"""`goldilocks`: one command, with verbs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


@app.command()
def run(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Train a policy with the curriculum; logs every step to MLflow."""
    try:
        cfg = load_config(config, set_ or [])
    except ConfigError as exc:
        _fail(str(exc))
    from orchestrator.driver import train

    columns = (
        TextColumn("[bold]step"),
        MofNCompleteColumn(),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("train", total=cfg.trainer.steps, status="starting")

        def on_step(step: int, m: dict[str, float]) -> None:
            progress.update(
                task,
                advance=1,
                status=(
                    f"reward {m['reward/mean']:.3f}  pass {m['curriculum/pass_rate']:.2f}  "
                    f"d {m['curriculum/difficulty']:.2f}  match {m['rollout/strategy_match_frac']:.2f}  "
                    f"entropy {m['actor/entropy']:.2f}  {m['perf/step_s']:.1f}s/step"
                ),
            )

        summary = train(cfg, on_step=on_step, log=progress.console.print)
    console.print(f"[bold green]done.[/] MLflow run id: [bold]{summary.run_id}[/]")
    console.print(f"checkpoints and curves: {summary.run_dir}")
    console.print(f"open the dashboard: [bold]mlflow ui --backend-store-uri {cfg.tracking.uri}[/]  (then http://127.0.0.1:5000)")


@app.command("bootstrap-model")
def bootstrap_model(
    size: Annotated[str, typer.Option(help="tiny (~1M params, CI/demo) or small (~47M, benchmarks).")] = "tiny",
    out: Annotated[Path | None, typer.Option(help="Copy the model here (default: only the cache).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of corpus, tokenizer and weights.")] = 0,
) -> None:
    """Build the policy locally: tokenizer, Qwen2 model, warm start (cached by its inputs)."""
    from workers.policy_model.bootstrap import ensure_model

    try:
        path = ensure_model(size, seed, out, log=console.print)
    except (ValueError, FileExistsError) as exc:
        _fail(str(exc))
    console.print(f"[bold green]model ready:[/] {path}")


def main() -> None:
    app()
