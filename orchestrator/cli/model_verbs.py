"""`goldilocks export`, `plan` and `bootstrap-model`: the policy's files and what it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import SetOpt, _config, _fail, app, console


@app.command()
def export(
    checkpoint: Annotated[Path, typer.Argument(help="A LoRA run's checkpoint (an adapter directory).")],
    out: Annotated[Path, typer.Option(help="Where to write the merged model directory.")],
) -> None:
    """Merge a LoRA checkpoint into its base: a plain model directory vLLM or transformers load alone."""
    from workers.lora_adapter import export_merged, is_adapter_dir

    if not is_adapter_dir(checkpoint):
        _fail(f"{checkpoint} holds no LoRA adapter (adapter_config.json): a full checkpoint is already a model directory")
    if out.exists() and any(out.iterdir()):
        _fail(f"--out: {out} is not empty; nothing was written")
    try:
        with console.status(f"merging {checkpoint} into its base"):
            export_merged(str(checkpoint), out)
    except FileNotFoundError as exc:
        _fail(str(exc))
    console.print(f"[bold green]merged model written to[/] {out}")


@app.command()
def plan(
    config: Annotated[Path | None, typer.Argument(help="Experiment YAML (default: configs/demo.yaml).")] = None,
    set_: SetOpt = None,
    gpu_memory_gb: Annotated[
        float | None, typer.Option(help="Memory of one GPU (default: this machine's first GPU, else 80).")
    ] = None,
) -> None:
    """The memory one learner rank, one rollout worker and one simulator server (simulator.serve)
    need, against what their placement gives them, before anything starts: exit 0 when everything
    fits, 1 when something does not."""
    import psutil
    from rich.table import Table

    from orchestrator.memory_plan import (
        GB,
        learner_parts,
        learner_setup,
        read_shape,
        rollout_parts,
        rollout_setup,
        simulator_setup,
        verdicts,
    )

    cfg = _config(config, set_)
    served = cfg.simulator.serve
    try:
        shape = read_shape(cfg.policy.model, cfg.seed)
        simulator = (
            read_shape(cfg.simulator.model, cfg.seed, "simulator.model") if served.enabled and cfg.simulator.model else None
        )
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    gpu_gb = gpu_memory_gb or _first_gpu_gb() or 80.0
    host_gb = psutil.virtual_memory().total / GB
    console.print(
        f"policy {cfg.policy.model}: {shape.params / 1e9:.2f}B parameters, {shape.layers} layers, hidden {shape.hidden}, "
        f"vocabulary {shape.vocab}; GPU {gpu_gb:g} GB, host {host_gb:.0f} GB"
    )
    tables = [
        (f"learner rank (1 of {cfg.resources.learner.num_workers})", learner_parts(shape, learner_setup(cfg))),
        ("rollout worker (per GPU of its engine)", rollout_parts(shape, rollout_setup(cfg))),
    ]
    if simulator is not None:
        console.print(
            f"simulator {cfg.simulator.model} (served by the run): {simulator.params / 1e9:.2f}B parameters, "
            f"{served.num_workers} server(s) of {served.tensor_parallel_size} GPU(s)"
            if served.num_gpus
            else f"simulator {cfg.simulator.model} (served by the run): {simulator.params / 1e9:.2f}B parameters, "
            f"{served.num_workers} server(s) on CPU"
        )
        tables.append(("simulator server (per GPU of its engine)", rollout_parts(simulator, simulator_setup(cfg))))
    for title, parts in tables:
        table = Table(title=title, title_justify="left")
        table.add_column("part")
        table.add_column("GB", justify="right")
        for name, size in parts.items():
            table.add_row(name.replace("_", " "), f"{size / GB:.1f}")
        table.add_row("[bold]total[/]", f"[bold]{sum(parts.values()) / GB:.1f}[/]")
        console.print(table)
    fits = True
    for v in verdicts(cfg, shape, gpu_gb, host_gb, simulator):
        if v.fits:
            console.print(f"[green]fits[/]   {v.actor}: {v.need / GB:.1f} GB of {v.have / GB:.1f} GB ({v.where})")
        else:
            fits = False
            console.print(f"[red]does not fit[/] {v.actor}: {v.need / GB:.1f} GB > {v.have / GB:.1f} GB ({v.where}); {v.knob}")
    raise typer.Exit(0 if fits else 1)


def _first_gpu_gb() -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_properties(0).total_memory / 1024**3


@app.command("bootstrap-model")
def bootstrap_model(
    size: Annotated[str, typer.Option(help="tiny (~1M, CI/demo), tiny-long (4x its warm start) or small (~47M).")] = "tiny",
    out: Annotated[Path | None, typer.Option(help="Copy the model here (default: only the cache).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of corpus, tokenizer and weights.")] = 0,
    layout: Annotated[
        str,
        typer.Option(
            help="Token layout: chatml (pad distinct from eos, one stop id), qwen-instruct (two stop ids in "
            "generation_config), no-pad (no pad token, Llama-style), base (eos <|endoftext|> alone, as a base "
            "checkpoint's)."
        ),
    ] = "chatml",
) -> None:
    """Build the policy locally: tokenizer, Qwen2 model, warm start (cached by its inputs)."""
    from workers.policy_model.bootstrap import ensure_model

    try:
        path = ensure_model(size, seed, out, log=console.print, layout=layout)
    except (ValueError, FileExistsError) as exc:
        _fail(str(exc))
    console.print(f"[bold green]model ready:[/] {path}")
