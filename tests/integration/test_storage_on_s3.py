"""Run storage (storage.uri) on a real S3 server (moto's server mode) and on a local path, through
the same code: files, the node cache, checkpoints that are whole only once their state file is
written, resuming by name or `auto`, and the study's copy."""

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

import pytest

from orchestrator.checkpoints import (
    FINISHED,
    STATE_FILE,
    TrainerState,
    checkpoints,
    find_run,
    load_state,
    restore_study,
    save_checkpoint,
    save_config,
    stored_config,
)
from orchestrator.config import load_config
from tests.support.s3_server import s3_server
from workers import storage


@pytest.fixture(scope="module")
def s3_root(tmp_path_factory):
    with s3_server(tmp_path_factory.mktemp("s3")) as root:
        yield root


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path, s3_root) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    return storage.join(s3_root, tmp_path.name)  # a fresh prefix per test


class FakeLearner:
    """Writes a checkpoint's model part as Learner.save does: through `storage.staged`."""

    def __init__(self, fail_after_upload: bool = False):
        self.fail_after_upload = fail_after_upload

    def save(self, path: str) -> None:
        with storage.staged(path) as out:
            (out / "model.safetensors").write_bytes(b"weights")
            (out / "training_state.pt").write_bytes(b"adam")
        if self.fail_after_upload:
            raise RuntimeError("driver died before writing the state")


def state(step: int) -> TrainerState:
    return TrainerState(step, "tiny", "study", "sqlite:///x", [3, [0], None])


def test_files_directories_and_the_node_cache(root, tmp_path, monkeypatch):
    monkeypatch.setenv(storage.CACHE_ENV, str(tmp_path / "cache"))
    storage.write_text(storage.join(root, "a", "b.txt"), "hello")
    assert storage.read_text(storage.join(root, "a", "b.txt")) == "hello"
    assert storage.exists(storage.join(root, "a")) and not storage.exists(storage.join(root, "nothing"))
    assert storage.children(root) == ["a"] and storage.children(storage.join(root, "nothing")) == []
    with pytest.raises(FileNotFoundError, match=r"no file at .*nothing"):
        storage.read_text(storage.join(root, "nothing"))

    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "sub" / "w.bin").write_bytes(b"\0" * 1000)
    storage.upload(model, storage.join(root, "model"))
    local = storage.fetch(storage.join(root, "model"))
    assert (Path(local) / "sub" / "w.bin").read_bytes() == b"\0" * 1000
    expected = str(tmp_path / "cache") if storage.is_remote(root) else storage.join(root, "model")
    assert local.startswith(expected)  # a path is read where it is; an object store's copy is in the node cache
    storage.delete(storage.join(root, "model"))
    storage.delete(storage.join(root, "a", "b.txt"))
    storage.delete(storage.join(root, "nothing"))
    assert not storage.exists(storage.join(root, "model")) and not storage.exists(storage.join(root, "a", "b.txt"))
    assert storage.fetch(storage.join(root, "model")) == local  # fetched once: the node's copy stays


def test_staged_writes_reach_an_object_store_only_when_the_block_ends_well(root):
    """A path is written in place (a crash may leave part of it: the checkpoint's state file,
    written last, is what says whole); an object store gets nothing from a block that failed."""
    with pytest.raises(RuntimeError), storage.staged(storage.join(root, "bad")) as out:
        (out / "x").write_text("x")
        raise RuntimeError("learner died")
    assert storage.exists(storage.join(root, "bad", "x")) == (not storage.is_remote(root))


def test_a_checkpoint_is_whole_only_once_its_state_is_written_and_old_ones_go(root, tmp_path):
    run = storage.join(root, "run1")
    for step in (2, 4, 6):
        save_checkpoint(FakeLearner(), run, state(step), keep=2)
    with pytest.raises(RuntimeError):
        save_checkpoint(FakeLearner(fail_after_upload=True), run, state(8), keep=2)
    assert storage.exists(storage.join(run, "checkpoints", "step_000008", "model.safetensors"))
    assert [c.rsplit("/", 1)[-1] for c in map(storage.display, checkpoints(run))] == ["step_000004", "step_000006"]
    assert load_state(checkpoints(run)[-1]) == state(6)
    save_checkpoint(FakeLearner(), run, state(8), keep=2)  # the half-written one is cleared first
    assert load_state(checkpoints(run)[-1]).step == 8


def test_resume_finds_runs_by_name_and_the_newest_unfinished_one(root):
    save_checkpoint(FakeLearner(), storage.join(root, "old"), state(2), keep=1)
    save_checkpoint(FakeLearner(), storage.join(root, "done"), state(2), keep=1)
    storage.write_text(storage.join(root, "done", FINISHED), "")
    save_checkpoint(FakeLearner(), storage.join(root, "new"), state(2), keep=1)
    assert find_run(root, "auto") == storage.join(root, "new")
    assert find_run(root, "done") == storage.join(root, "done")
    config = load_config(None, ["trainer.steps=7"])
    save_config(config, storage.join(root, "new"))
    assert stored_config(storage.join(root, "new"), ["seed=3"]).trainer.steps == 7
    assert stored_config(storage.join(root, "new"), ["seed=3"]).seed == 3


def test_the_study_travels_with_the_checkpoint(root, tmp_path):
    db = tmp_path / "curriculum.db"
    with sqlite3.connect(db) as connection:
        connection.execute("create table trials (step integer)")
        connection.executemany("insert into trials values (?)", [(0,), (1,)])
    checkpoint = save_checkpoint(FakeLearner(), storage.join(root, "run"), state(2), keep=1, study_db=db)
    restored = tmp_path / "elsewhere" / "curriculum.db"
    restored.parent.mkdir()
    restore_study(checkpoint, restored)
    with sqlite3.connect(restored) as connection:
        assert connection.execute("select count(*) from trials").fetchone() == (2,)
    assert json.loads(storage.read_text(storage.join(checkpoint, STATE_FILE))) == asdict(state(2))


def test_a_model_on_the_drivers_disk_is_published_once_for_other_nodes(root, tmp_path):
    from orchestrator.run_storage import shared_model

    model = tmp_path / "tiny"
    model.mkdir()
    (model / "config.json").write_text("{}")
    config = load_config(None, [f"workdir={tmp_path / 'runs'}", f"storage.uri={root}"])
    said: list[str] = []
    first = shared_model(config, str(model), said.append)
    assert shared_model(config, str(model), said.append) == first
    assert shared_model(config, "Qwen/Qwen2.5-0.5B-Instruct", said.append) == "Qwen/Qwen2.5-0.5B-Instruct"
    assert len(said) == 1 and storage.read_text(storage.join(first, "config.json")) == "{}"
    assert shared_model(config, first, said.append) == first and len(said) == 1  # already in storage
    (model / "config.json").write_text('{"rebuilt": true}')
    assert shared_model(config, str(model), said.append) != first
    unset = load_config(None, [f"workdir={tmp_path / 'runs'}"])
    assert shared_model(unset, str(model), said.append) == str(model)
