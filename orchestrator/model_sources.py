"""Where a run's models come from: the project's own `tiny` / `small` presets (built here and
cached), a model directory, or a hub id; and the check, before anything starts, that a model a
run will serve exists, so a typo fails in a second naming its key rather than minutes later in a
Ray actor's log."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from orchestrator.config import ConfigError, ExperimentConfig


def resolve_model(name: str, seed: int, log: Callable[[str], None] = print) -> str:
    """`tiny` / `small` are built locally (and cached); anything else is a directory or hub id."""
    from workers.policy_model.bootstrap import MODEL_SIZES, ensure_model

    if name in MODEL_SIZES:
        return str(ensure_model(name, seed, log=log))
    return name


def check_model_source(name: str, key: str) -> None:
    """Raise ConfigError naming `key` unless `name` is a preset, a model directory, or a hub id
    that is in the local hub cache or on the hub. A hub that cannot be reached is not taken as
    proof of absence: the nodes that load the model may reach it."""
    from workers.policy_model.bootstrap import MODEL_SIZES

    if name in MODEL_SIZES:
        return
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"{key}: {name} is a directory without config.json, not a model")
        return
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise ConfigError(f"{key}: {name!r} is neither a model directory nor a hub id (org/name), nor tiny / small")
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        snapshot_download(name, local_files_only=True)
        return
    except LocalEntryNotFoundError:
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ConfigError(f"{key}: {name} is not in the local hub cache and HF_HUB_OFFLINE is set; download it first")
    try:
        HfApi().model_info(name, timeout=10)
    except RepositoryNotFoundError:
        raise ConfigError(f"{key}: the hub has no model {name}") from None
    except Exception:  # the hub is unreachable from here; the nodes may reach it
        return


def check_model_sources(config: ExperimentConfig) -> None:
    """The models a run serves itself, checked before its MLflow run, Ray or any actor starts."""
    if config.simulator.serve.enabled:
        assert config.simulator.model
        check_model_source(config.simulator.model, "simulator.model")
