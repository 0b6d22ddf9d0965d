"""`goldilocks run` and `goldilocks eval`: train with the curriculum, score a policy on held-out users."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import ConfigOpt, SetOpt, _config, _fail, _progress, app, console
from orchestrator.config import ConfigError, load_config
from workers.storage import display

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
    from orchestrator.checkpoints import ResumeError, find_run, stored_config
    from orchestrator.run_storage import run_root

    if resume not in (None, "auto") and config is not None:
        _fail("--resume RUN_ID continues with the run's own config; change keys with --set, not --config")
    run_dir = None
    try:
        cfg = load_config(config, set_ or [])
        if resume is not None:
            run_dir = find_run(run_root(cfg), resume)
            if run_dir is None:
                root = display(run_root(cfg))
                console.print(f"--resume auto: no unfinished run with a checkpoint in {root}; starting a new run")
            else:
                cfg = stored_config(run_dir, set_ or [])
    except (ConfigError, ResumeError) as exc:
        _fail(str(exc))
    from orchestrator.driver import StepFailed, train
    from orchestrator.fault_injection import FaultPlan
    from orchestrator.run_storage import StorageUnreachable

    first = _finished_steps(run_dir) if run_dir is not None else 0
    with _step_reporter(cfg.trainer.steps, first) as (on_step, log):
        try:
            summary = train(cfg, on_step=on_step, log=log, resume_from=run_dir, faults=FaultPlan.from_env())
        except (StepFailed, StorageUnreachable, ResumeError) as exc:
            _fail(str(exc))
    console.print(f"[bold green]done.[/] MLflow run id: [bold]{summary.run_id}[/]")
    console.print(f"checkpoints and curves: {display(summary.location)}")
    from orchestrator.tracking.mlflow_tracker import experiment_page

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


def _finished_steps(run_dir: str) -> int:
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


def _eval_episodes(cfg, checkpoint: str | None, policy: str | None, requests: list, what: str, servers: tuple = ()) -> list:
    """Every request's episode, played `EVAL_CHUNK` at a time, with a progress bar (one plain line
    per chunk when stdout is not a terminal); `servers`: the simulator servers of simulator.serve."""
    from orchestrator.evaluation.held_out import play_policy
    from orchestrator.evaluation.user_policy import load_policy

    if policy is not None:
        try:
            agent = load_policy(policy)
        except ValueError as exc:
            _fail(f"--policy: {exc}")

        def play(chunk: list) -> list:
            try:
                return play_policy(agent, chunk, cfg, servers)
            except ValueError as exc:
                _fail(f"--policy: {exc}")

    else:
        assert checkpoint is not None
        from workers.lora_adapter import is_adapter_dir
        from workers.storage import fetch

        try:
            local = Path(fetch(checkpoint))
        except OSError as exc:
            _fail(f"--checkpoint: cannot fetch {display(checkpoint)}: {exc}")
        if not (local / "config.json").is_file() and not is_adapter_dir(local):
            _fail(f"--checkpoint: {display(checkpoint)} is not a model directory (no config.json) nor a LoRA adapter")
        from workers.rollout_worker import RolloutWorker

        worker = RolloutWorker(str(local), cfg.rollout_settings(servers, dialogues=len(requests)), cfg.seed)

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
    checkpoint: Annotated[
        str | None,
        typer.Option(help="A checkpoint to evaluate: a model directory, or its location in storage (s3://.../step_000010)."),
    ] = None,
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

    from orchestrator.evaluation.held_out import (
        PROTOCOLS,
        SAGE_LEVEL,
        eval_requests,
        eval_scenarios,
        protocol_config,
        report,
        summarise,
    )
    from workers.env.users.llm_simulator import SimulatorUnavailable

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
    from orchestrator.cluster.simulator_fleet import serving_simulator
    from orchestrator.model_sources import check_model_sources

    try:
        check_model_sources(cfg)
        with serving_simulator(cfg, log=console.print) as servers:
            episodes = _eval_episodes(cfg, checkpoint, policy, requests, what, servers)
    except (SimulatorUnavailable, ConfigError) as exc:
        _fail(str(exc))
    scores = summarise(episodes, cfg.simulator.pass_threshold)
    result = report(policy or display(checkpoint or ""), cfg, scenarios, scores, protocol) | {"limit": limit}
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
