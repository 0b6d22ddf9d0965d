"""RLVER's scenario profiles (MIT, Tencent's `digitalhuman`, see data/rlver/README.md) as Scenarios.

Rows are validated one by one: a file with a bad row fails with the file and line number of every
bad row, so a hand-edited profile file never trains on silently dropped scenarios.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

from workers.env.scenarios.scenario import Scenario

RLVER_INTENTS: dict[str, str] = {
    "你认为自己在事件中没有任何责任和错误，你想要对方也认同你没有错": "validate",
    "你希望对方引导你针对事件进行自我反思，收获自我成长": "reflect",
    "你希望对方辩证地分析事件中的问题": "dialectic",
    "你希望对方深刻共情你的感受，而不是简单的安慰": "empathise",
    "你希望对方用心倾听你的情绪宣泄": "listen",
    "你想分析事件中其他人物这么做的原因": "explain",
    "你想获得能真实帮助你解决当下困境的建议": "advise",
    "你希望对方真诚地夸奖你在事件中的具体行为": "praise",
}
"""RLVER's `task` sentences -> our strategy names (the same eight hidden intents)."""

RLVER_PERSONALITIES: dict[str, str] = {"负面型": "negative", "被动型": "passive", "回避型": "avoidant"}

_TEXT_FIELDS = ("id", "player", "scene", "main_cha", "task")


class ScenarioFileError(ValueError):
    """A scenario file with bad rows; the message lists each as path:line: problem."""


def _row_problem(row: object) -> str | None:
    if not isinstance(row, dict):
        return "not a JSON object"
    for name in _TEXT_FIELDS:
        if not isinstance(row.get(name), str) or not row[name].strip():
            return f"field {name!r} is missing or not a non-empty string"
    if row["main_cha"] not in RLVER_PERSONALITIES:
        return f"field 'main_cha' is {row['main_cha']!r}, expected one of {sorted(RLVER_PERSONALITIES)}"
    if row["task"] not in RLVER_INTENTS:
        return f"field 'task' is not one of RLVER's eight hidden intents: {row['task'][:40]!r}"
    traits = row.get("cha_group", [])
    if not isinstance(traits, list) or not all(isinstance(t, str) for t in traits):
        return "field 'cha_group' must be a list of strings"
    return None


def parse_profiles(lines: list[str], source: str) -> tuple[Scenario, ...]:
    scenarios, problems, seen = [], [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{source}:{number}: not valid JSON ({exc.msg})")
            continue
        problem = _row_problem(row)
        if problem is None and row["id"] in seen:
            problem = f"duplicate id {row['id']!r}"
        if problem:
            problems.append(f"{source}:{number}: {problem}")
            continue
        seen.add(row["id"])
        scenarios.append(
            Scenario(
                id=f"rlver-{row['id']}",
                persona=row["player"].strip(),
                situation=row["scene"].strip(),
                personality=RLVER_PERSONALITIES[row["main_cha"]],
                intent=RLVER_INTENTS[row["task"]],
                topic="rlver",
                language="zh",
                traits=tuple(row.get("cha_group", [])),
            )
        )
    if problems:
        raise ScenarioFileError(f"{len(problems)} bad row(s):\n" + "\n".join(problems))
    if not scenarios:
        raise ScenarioFileError(f"{source}: no scenarios")
    return tuple(scenarios)


def load_profiles(path: str | Path) -> tuple[Scenario, ...]:
    """Any file in RLVER's profile format (e.g. a user's own scenarios)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(f"cannot read scenario file {p}: {exc.strerror}") from None
    return parse_profiles(text.splitlines(), str(p))


@cache
def rlver_split(split: str) -> tuple[Scenario, ...]:
    """RLVER's shipped `train` (500 rows) or `test` (100 rows, evaluation only) profiles."""
    if split not in ("train", "test"):
        raise ValueError(f"RLVER scenarios come as train or test, not {split!r}")
    name = f"data/rlver/{split}_profile.jsonl"
    text = resources.files("workers.env").joinpath(name).read_text(encoding="utf-8")
    return parse_profiles(text.splitlines(), name)
