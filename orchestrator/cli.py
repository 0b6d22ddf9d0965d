"""`goldilocks`: one command, with verbs."""

from __future__ import annotations

from contextlib import contextmanager
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


ResumeOpt = Annotated[
    str | None,
    typer.Option(
        help="Continue a run from its newest checkpoint: an MLflow run id, or `auto` (the latest unfinished run in "
        "workdir; none: start a new one). The run's own config is used, with --set on top."
    ),
]


@app.command()
def run(config: ConfigOpt = None, set_: SetOpt = None, resume: ResumeOpt = None) -> None:
    """Train a policy with the curriculum; logs every step to MLflow."""
    from orchestrator.checkpoints import ResumeError, find_run_dir, stored_config

    if resume not in (None, "auto") and config is not None:
        _fail("--resume RUN_ID continues with the run's own config; change keys with --set, not --config")
    run_dir = None
    try:
        cfg = load_config(config, set_ or [])
        if resume is not None:
            run_dir = find_run_dir(Path(cfg.workdir), resume)
            if run_dir is None:
                console.print(f"--resume auto: no unfinished run with a checkpoint in {cfg.workdir}; starting a new run")
            else:
                cfg = stored_config(run_dir, set_ or [])
    except (ConfigError, ResumeError) as exc:
        _fail(str(exc))
    from orchestrator.driver import StepFailed, train

    first = _finished_steps(run_dir) if run_dir is not None else 0
    with _step_reporter(cfg.trainer.steps, first) as (on_step, log):
        try:
            summary = train(cfg, on_step=on_step, log=log, resume_from=run_dir)
        except StepFailed as exc:
            _fail(str(exc))
    console.print(f"[bold green]done.[/] MLflow run id: [bold]{summary.run_id}[/]")
    console.print(f"checkpoints and curves: {summary.run_dir}")
    from orchestrator.tracking import experiment_page

    page = experiment_page(cfg.tracking.uri, cfg.tracking.experiment, "http://127.0.0.1:5000")
    console.print(f"open the dashboard: [bold]mlflow ui --backend-store-uri {cfg.tracking.uri}[/]  (then {page})")


def step_line(step: int, total: int, m: dict[str, float]) -> str:
    """One training step as plain text: what a log file, a Ray job log or CI shows per step."""
    match = f"match {m['rollout/strategy_match_frac']:.2f}  " if "rollout/strategy_match_frac" in m else ""
    return (
        f"step {step + 1}/{total}  reward {m['reward/mean']:.3f}  pass {m['curriculum/pass_rate']:.2f}  "
        f"d {m['curriculum/difficulty']:.2f}  {match}entropy {m['actor/entropy']:.2f}  {m['perf/step_s']:.1f}s/step"
    )


@contextmanager
def _step_reporter(total: int, first: int):
    """(on_step, log) for a run: a progress bar on a terminal, one plain line per step otherwise
    (flushed, so `goldilocks jobs logs --follow` shows each step as it ends)."""
    if not console.is_terminal:

        def plain(message: str) -> None:
            print(message, flush=True)

        yield (lambda step, m: plain(step_line(step, total, m))), plain
        return
    with _progress("step") as progress:
        task = progress.add_task("train", total=total, completed=first, status="starting")

        def on_step(step: int, m: dict[str, float]) -> None:
            progress.update(task, advance=1, status=step_line(step, total, m).split("  ", 1)[1])

        yield on_step, progress.console.print


def _finished_steps(run_dir: Path) -> int:
    from orchestrator.checkpoints import checkpoints, load_state

    return load_state(checkpoints(run_dir)[-1]).step


def _parse_levels(text: str) -> list[float]:
    try:
        levels = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or any(not 0.0 <= x <= 1.0 for x in levels):
        _fail(f"--levels: expected comma-separated numbers in [0, 1], got {text!r}")
    return levels


EVAL_CHUNK = 64
"""Dialogues played together in `goldilocks eval`: progress is reported per chunk."""


def _eval_episodes(cfg, checkpoint: Path | None, policy: str | None, requests: list, what: str) -> list:
    """Every request's episode, played `EVAL_CHUNK` at a time, with a progress bar (one plain line
    per chunk when stdout is not a terminal)."""
    from orchestrator.evaluation import play_policy
    from orchestrator.user_policy import load_policy

    if policy is not None:
        try:
            agent = load_policy(policy)
        except ValueError as exc:
            _fail(f"--policy: {exc}")

        def play(chunk: list) -> list:
            try:
                return play_policy(agent, chunk, cfg)
            except ValueError as exc:
                _fail(f"--policy: {exc}")

    else:
        assert checkpoint is not None
        from workers.lora_adapter import is_adapter_dir

        if not (checkpoint / "config.json").is_file() and not is_adapter_dir(checkpoint):
            _fail(f"--checkpoint: {checkpoint} is not a model directory (no config.json) nor a LoRA adapter")
        from orchestrator.driver import rollout_settings
        from workers.rollout_worker import RolloutWorker

        worker = RolloutWorker(str(checkpoint), rollout_settings(cfg), cfg.seed)

        def play(chunk: list) -> list:
            return worker.rollout(chunk, worker.version).episodes

    chunks = [requests[i : i + EVAL_CHUNK] for i in range(0, len(requests), EVAL_CHUNK)]
    episodes: list = []
    if not console.is_terminal:
        print(what, flush=True)
        for chunk in chunks:
            episodes += play(chunk)
            print(f"eval {len(episodes)}/{len(requests)} dialogues", flush=True)
        return episodes
    with _progress("dialogues") as progress:
        task = progress.add_task("eval", total=len(requests), status=what)
        for chunk in chunks:
            episodes += play(chunk)
            progress.update(task, advance=len(chunk))
    return episodes


@app.command("eval")
def evaluate(
    checkpoint: Annotated[Path | None, typer.Option(help="A checkpoint (model directory) to evaluate.")] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="A model-free policy instead: scripted:NAME (expert, matching, ...), oracle or python:FILE.py:FUNC, "
            "FUNC(dialogue, scenario) -> reply text (scenario.intent is the hidden need, as the oracle reads it)."
        ),
    ] = None,
    scenarios: Annotated[str, typer.Option(help="Scenario split: test (held out) or train.")] = "test",
    levels: Annotated[str | None, typer.Option(help="Fixed difficulties, comma-separated (default 0.2,0.5,0.8).")] = None,
    protocol: Annotated[
        str,
        typer.Option(
            help="goldilocks (ours) or sage: SAGE's setting (RLVER's LLM user from 40, 10 turns, success at 100, "
            "RLVER's 100 test profiles; needs simulator.name=llm)."
        ),
    ] = "goldilocks",
    limit: Annotated[int | None, typer.Option(help="Evaluate N scenarios, stratified over situations and needs.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the report as JSON here.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Score a checkpoint or a scripted policy on held-out scenarios at fixed difficulty levels."""
    import json

    from rich.table import Table

    from orchestrator.evaluation import PROTOCOLS, SAGE_LEVEL, eval_requests, eval_scenarios, protocol_config, report, summarise
    from workers.env.llm_simulator import SimulatorUnavailable

    if (checkpoint is None) == (policy is None):
        _fail("give exactly one of --checkpoint DIR or --policy scripted:NAME|oracle|python:FILE.py:FUNC")
    if scenarios not in ("test", "train"):
        _fail(f"--scenarios: expected test or train, got {scenarios!r}")
    if protocol not in PROTOCOLS:
        _fail(f"--protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if protocol == "sage" and levels is not None:
        _fail("--levels: the sage protocol has no difficulty levels (its user plays RLVER's normal persona)")
    if protocol == "sage" and scenarios != "test":
        _fail("--scenarios: the sage protocol plays RLVER's 100 test profiles only")
    level_list = [SAGE_LEVEL] if protocol == "sage" else _parse_levels(levels or "0.2,0.5,0.8")
    try:
        cfg = protocol_config(_config(config, set_), protocol)
    except (ValueError, ConfigError) as exc:
        _fail(f"--protocol {protocol}: {exc}")
    requests = eval_requests(eval_scenarios(cfg, scenarios, limit), level_list, cfg.seed)
    what = f"evaluating {len(requests)} dialogues ({len(level_list)} levels) with the {cfg.simulator.name} simulator"
    try:
        episodes = _eval_episodes(cfg, checkpoint, policy, requests, what)
    except SimulatorUnavailable as exc:
        _fail(str(exc))
    scores = summarise(episodes, cfg.simulator.pass_threshold)
    result = report(policy or str(checkpoint), cfg, scenarios, scores, protocol) | {"limit": limit}
    table = Table(title=f"{result['policy']} on {result['scenarios']} ({result['simulator']} simulator)")
    for column in ("level", "score", "success rate", "failure rate", "mean turns", "dialogues"):
        table.add_column(column, justify="right")
    for sc in scores:
        cells = (f"{sc.level:g}", f"{sc.score:.1f}", f"{sc.success_rate:.2f}", f"{sc.failure_rate:.2f}", f"{sc.mean_turns:.2f}")
        table.add_row(*cells, str(sc.episodes))
    console.print(table)
    console.print(f"success = {result['success_definition']}; failure = {result['failure_definition']}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.with_name(out.name + ".tmp")
        staging.write_text(json.dumps(result, indent=1))
        staging.replace(out)
        console.print(f"report written to {out}")


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
    """The memory one learner rank and one rollout worker need, against what their placement gives
    them, before anything starts: exit 0 when everything fits, 1 when something does not."""
    import psutil
    from rich.table import Table

    from orchestrator.memory_plan import GB, learner_parts, learner_setup, read_shape, rollout_parts, rollout_setup, verdicts

    cfg = _config(config, set_)
    try:
        shape = read_shape(cfg.policy.model, cfg.seed)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    gpu_gb = gpu_memory_gb or _first_gpu_gb() or 80.0
    host_gb = psutil.virtual_memory().total / GB
    console.print(
        f"policy {cfg.policy.model}: {shape.params / 1e9:.2f}B parameters, {shape.layers} layers, hidden {shape.hidden}, "
        f"vocabulary {shape.vocab}; GPU {gpu_gb:g} GB, host {host_gb:.0f} GB"
    )
    for title, parts in (
        (f"learner rank (1 of {cfg.resources.learner.num_workers})", learner_parts(shape, learner_setup(cfg))),
        ("rollout worker (per GPU of its engine)", rollout_parts(shape, rollout_setup(cfg))),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("part")
        table.add_column("GB", justify="right")
        for name, size in parts.items():
            table.add_row(name.replace("_", " "), f"{size / GB:.1f}")
        table.add_row("[bold]total[/]", f"[bold]{sum(parts.values()) / GB:.1f}[/]")
        console.print(table)
    fits = True
    for v in verdicts(cfg, shape, gpu_gb, host_gb):
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
            "generation_config), no-pad (no pad token, Llama-style)."
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

    from orchestrator.run_report import fetch_histories, plot_runs, runs_table

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
    from orchestrator.tracking import experiment_page

    if page := experiment_page(cfg.tracking.uri, cfg.tracking.experiment, f"http://{host}:{port}"):
        console.print(f"experiment {cfg.tracking.experiment}: {page}")
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", cfg.tracking.uri, "--host", host, "--port", str(port)]
    try:
        raise typer.Exit(subprocess.call(command))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


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
    from orchestrator.job_submission import SubmitError, follow, status
    from orchestrator.job_submission import submit as submit_job

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
    from orchestrator.job_submission import SubmitError, status

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
    from orchestrator.job_submission import SubmitError, follow, logs

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
    from orchestrator.job_submission import SubmitError, stop

    try:
        console.print(f"stop requested: {stop(job_id, address)}")
    except SubmitError as exc:
        _fail(str(exc))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
