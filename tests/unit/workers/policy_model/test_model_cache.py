"""The model cache builds a model once when several processes ask for it at the same time, and
never shows a half-built one."""

import threading
from pathlib import Path

import pytest

from workers.policy_model.bootstrap import _build_once


def test_builders_racing_for_one_model_build_it_once_and_the_others_wait(tmp_path):
    target = tmp_path / "models" / "tiny-abc"
    builds: list[int] = []
    seen: list[bool] = []
    logs: list[str] = []
    both_waiting = threading.Event()

    def log(message: str) -> None:
        logs.append(message)
        if len(logs) == 2:
            both_waiting.set()

    def build(staging: Path) -> None:
        builds.append(1)
        assert both_waiting.wait(timeout=60), "the other builders never reached the lock"
        (staging / "config.json").write_text("{}")

    def ask() -> None:
        _build_once(target, build, log)
        seen.append((target / "config.json").exists())

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and seen == [True, True, True]
    assert logs == ["another process is building tiny-abc; waiting for it"] * 2
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".tiny-abc-")] == []


def test_a_failed_build_leaves_no_model_and_the_next_asker_builds_it(tmp_path):
    target = tmp_path / "models" / "tiny-abc"

    def fail(staging: Path) -> None:
        (staging / "config.json").write_text("{}")
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        _build_once(target, fail, print)
    assert not target.exists()
    _build_once(target, lambda staging: (staging / "config.json").write_text("{}"), print)
    assert (target / "config.json").exists()
