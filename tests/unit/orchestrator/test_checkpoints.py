import json
import os
import random

import pytest

from orchestrator.checkpoints import (
    FINISHED,
    STATE_FILE,
    ResumeError,
    TrainerState,
    checkpoints,
    find_run,
    load_state,
    rng_state,
)


def fake_checkpoint(run_dir, step, mtime):
    path = run_dir / "checkpoints" / f"step_{step:06d}"
    path.mkdir(parents=True)
    (path / STATE_FILE).write_text(json.dumps({"step": step}))
    os.utime(path / STATE_FILE, (mtime, mtime))
    return path


def test_only_checkpoints_whose_state_file_was_written_count_in_step_order(tmp_path):
    fake_checkpoint(tmp_path, 10, 1)
    fake_checkpoint(tmp_path, 2, 2)
    (tmp_path / "checkpoints" / "step_000012.tmp").mkdir()
    (tmp_path / "checkpoints" / "step_000011").mkdir()  # the learner's part only: a crash mid-save
    assert checkpoints(tmp_path) == [str(tmp_path / "checkpoints" / f"step_{s:06d}") for s in (2, 10)]


def test_auto_picks_the_latest_unfinished_run(tmp_path):
    old, new, done = tmp_path / "old", tmp_path / "new", tmp_path / "done"
    fake_checkpoint(old, 4, 100)
    fake_checkpoint(new, 2, 200)
    fake_checkpoint(done, 8, 300)
    (done / FINISHED).touch()
    (tmp_path / "empty").mkdir()
    assert find_run(str(tmp_path), "auto") == str(new)
    assert find_run(str(tmp_path), "done") == str(done)
    assert find_run(str(tmp_path / "nowhere"), "auto") is None


def test_a_named_run_must_exist_and_have_a_checkpoint(tmp_path):
    with pytest.raises(ResumeError, match="no run directory"):
        find_run(str(tmp_path), "r")
    (tmp_path / "r").mkdir()
    with pytest.raises(ResumeError, match="no complete checkpoint"):
        find_run(str(tmp_path), "r")


def test_the_sampler_rng_survives_json():
    rng = random.Random(7)
    rng.random()
    state = TrainerState(3, "tiny", "s", "sqlite:///x", json.loads(json.dumps(rng_state(rng))))
    assert state.restore_rng().random() == rng.random()


def test_an_unreadable_state_is_named(tmp_path):
    path = fake_checkpoint(tmp_path, 1, 1)
    with pytest.raises(ResumeError, match=f"{path / STATE_FILE}: not a readable trainer state"):
        load_state(path)


def test_a_stored_config_that_no_longer_loads_is_a_config_error_naming_the_file(tmp_path):
    from orchestrator.checkpoints import CONFIG_FILE, stored_config
    from orchestrator.config import ConfigError

    (tmp_path / CONFIG_FILE).write_text(json.dumps({"trainer": {"steps": 3, "gone_key": 1}}))
    with pytest.raises(ConfigError, match=rf"(?s){tmp_path / CONFIG_FILE}, the run's stored config.*gone_key: unknown key"):
        stored_config(str(tmp_path), [])
    (tmp_path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ConfigError, match="stored config is not readable JSON"):
        stored_config(str(tmp_path), [])
