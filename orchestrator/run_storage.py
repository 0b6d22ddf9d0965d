"""A run's place in storage (`storage.uri`, else `workdir`) and the driver's own directory for
files only it reads (`workdir/<run id>`: the controller's study, the plots before upload). With
no `storage.uri` the two are one directory, as before storage existed.

Three things make a run work on nodes that share no disk:

* every location handed to an actor is absolute (a relative `workdir` means something else in
  an actor's working directory, and on another node nothing);
* a model directory on the driver's disk (a built preset, a user's local model) is published to
  storage once (`models/<name>-<fingerprint>`) when storage.uri is set, and actors fetch it;
* before any step on a cluster of several nodes, a probe written to the run's location must be
  readable from every bundle of the run's placement group: a `storage.uri` some node cannot see
  fails there, by name.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from pathlib import Path

from orchestrator.config import ExperimentConfig
from workers import storage

PROBE = ".storage-probe"
PUBLISHED = ".published"
"""Written last in a published model's directory: one without it is partial and is published again."""


class StorageUnreachable(RuntimeError):
    """A node of the run cannot read the run's storage; the message names storage.uri."""


def run_root(config: ExperimentConfig) -> str:
    """Where runs are stored: storage.uri, else workdir, made absolute."""
    uri = config.storage.uri
    if uri is not None and storage.is_remote(uri):
        return uri
    return str(Path((uri or config.workdir).removeprefix("file://")).resolve())


def run_location(config: ExperimentConfig, run_id: str) -> str:
    return storage.join(run_root(config), run_id)


def local_run_dir(config: ExperimentConfig, run_id: str) -> Path:
    """The driver's directory for the run (created)."""
    path = Path(config.workdir).resolve() / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def travelling_study(config: ExperimentConfig, run_dir: Path) -> Path | None:
    """The controller's sqlite study on the driver's disk when it must travel in each checkpoint
    (runs stored apart from workdir, the study in its default place), else None."""
    if config.storage.uri is None or config.curriculum.storage is not None:
        return None
    return run_dir / "curriculum.db"


def shared_model(config: ExperimentConfig, model: str, log: Callable[[str], None]) -> str:
    """Where actors on any node find `model`: as given (a hub id; any model when storage.uri is
    unset, as one node's run; a directory already in storage), else its copy in storage,
    published if not there yet: a directory on the driver's disk is on no other node's."""
    root = run_root(config)
    local = Path(model).expanduser()
    if not local.is_dir():
        return model
    local = local.resolve()  # an actor's working directory is not the driver's
    if config.storage.uri is None or (not storage.is_remote(root) and local.is_relative_to(root)):
        return str(local)
    location = storage.join(root, "models", f"{local.name}-{_fingerprint(local)}")
    if not storage.exists(storage.join(location, PUBLISHED)):
        log(f"publishing {local} to {storage.display(location)} for the run's other nodes")
        storage.upload(local, location)  # drivers publishing at once write the same files: no delete
        storage.write_text(storage.join(location, PUBLISHED), str(local.resolve()))
    return location


def _fingerprint(directory: Path) -> str:
    """Names, sizes and modification times of a directory's files: a rebuilt model is a new one."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(directory)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def check_reachable(config: ExperimentConfig, location: str, strategies: dict[str, object]) -> None:
    """Write a probe into the run's location, then read it back and write one beside it from
    each named placement (`strategies`: who -> Ray scheduling strategy); StorageUnreachable
    names whoever cannot.
    A one-node cluster shares the driver's disk: nothing to check."""
    import ray

    if sum(1 for node in ray.nodes() if node.get("Alive")) < 2:
        return

    token = secrets.token_hex(8)
    probe = storage.join(location, PROBE)
    storage.write_text(probe, token)
    reader = ray.remote(num_cpus=0)(_read_probe)
    try:
        answers = ray.get(
            [
                reader.options(scheduling_strategy=s).remote(probe, storage.join(location, f"{PROBE}-{i}"))
                for i, s in enumerate(strategies.values())
            ]
        )
    finally:
        storage.delete(probe)
    blind = [f"{who} (node {node}: {seen})" for who, (node, seen) in zip(strategies, answers, strict=True) if seen != token]
    if blind:
        where = (
            f"storage.uri {storage.display(config.storage.uri)}"
            if config.storage.uri
            else f"storage.uri is unset, so runs are stored in workdir ({run_root(config)}), on the driver's disk"
        )
        raise StorageUnreachable(
            f"{where}: not usable from {', '.join(blind)}. Set storage.uri to a path every node mounts or to an "
            "object store (s3://bucket/prefix); no step was run."
        )


def _read_probe(probe: str, mine: str) -> tuple[str, str]:
    """Read the driver's probe and write one of this bundle's own (a learner writes checkpoints)."""
    import ray

    node = ray.util.get_node_ip_address()
    try:
        seen = storage.read_text(probe)
    except (OSError, ValueError) as exc:
        return node, f"cannot read it: {exc}"
    try:
        storage.write_text(mine, seen)
        storage.delete(mine)
    except (OSError, ValueError) as exc:
        return node, f"cannot write there: {exc}"
    return node, seen
