"""Agent policies for `goldilocks eval --policy`: the scripted baselines, the oracle, or a user's
own function.

`oracle` answers every turn with a phrase-bank reply for the hidden need itself: the score of a
policy that knows what nobody told it, the ceiling the `expert` (which must ask) is measured by.

`python:FILE.py:FUNC` loads FUNC from FILE; it is called once per agent turn as
`FUNC(dialogue, scenario)`, where `dialogue` is the conversation so far as a list of
`{"role": "user" | "assistant", "content": str}` and `scenario` the episode's `Scenario` as its
user meets it (hidden need in `scenario.intent`, for oracle baselines), and returns the reply
text. Anything wrong in the user's file (missing, a syntax error, an exception at import or in a
call, a reply that is not text) is a `PolicyError` naming the file and line.
"""

from __future__ import annotations

import importlib.util
import traceback
from collections.abc import Callable
from pathlib import Path

from workers.env.scenarios.scenario import Scenario
from workers.env.scripted_policies import ScriptedPolicy, scripted_policy, strategy_reply

AgentPolicy = Callable[[list[dict[str, str]], Scenario, str], str]
"""(dialogue so far, scenario, episode key) -> reply; the key lets scripted baselines draw coins
that are the same for an episode at every difficulty."""


class PolicyError(ValueError):
    """The policy could not be loaded or failed; the message names the file and line."""


def _where(exc: BaseException, path: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return f"{path}:{frames[-1].lineno}" if frames else str(path)


def scripted_agent(scripted: ScriptedPolicy) -> AgentPolicy:
    """A scripted policy (key, the user's messages, turn index) as an AgentPolicy."""

    def play_scripted(dialogue: list[dict[str, str]], scenario: Scenario, key: str) -> str:
        users = [m["content"] for m in dialogue if m["role"] == "user"]
        return scripted(key, users, len(dialogue) - len(users))

    return play_scripted


def oracle_agent(dialogue: list[dict[str, str]], scenario: Scenario, key: str) -> str:
    """A reply for the hidden need, every turn (it reads `scenario.intent`)."""
    return strategy_reply(scenario.intent, key, sum(m["role"] == "assistant" for m in dialogue))


def load_policy(spec: str) -> AgentPolicy:
    """`scripted:NAME`, `oracle` or `python:FILE.py:FUNC`."""
    if spec == "oracle":
        return oracle_agent
    kind, _, rest = spec.partition(":")
    if kind == "scripted" and rest:
        return scripted_agent(scripted_policy(rest))
    if kind == "python" and ":" in rest:
        file, _, name = rest.rpartition(":")
        return _python_policy(Path(file), name)
    raise PolicyError(f"expected scripted:NAME, oracle or python:FILE.py:FUNC, got {spec!r}")


def _python_policy(path: Path, name: str) -> AgentPolicy:
    if not path.is_file():
        raise PolicyError(f"{path}: no such file")
    module_spec = importlib.util.spec_from_file_location(f"goldilocks_user_policy_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise PolicyError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise PolicyError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise PolicyError(f"{_where(exc, path)}: {type(exc).__name__} while loading: {exc}") from None
    func = getattr(module, name, None)
    if not callable(func):
        raise PolicyError(f"{path}: no function {name!r}")

    def play(dialogue: list[dict[str, str]], scenario: Scenario, key: str) -> str:
        try:
            reply = func([dict(m) for m in dialogue], scenario)
        except Exception as exc:
            raise PolicyError(f"{_where(exc, path)}: {type(exc).__name__} in {name}(): {exc}") from None
        if not isinstance(reply, str):
            raise PolicyError(f"{path}: {name}() returned {type(reply).__name__}, expected the reply text (str)")
        return reply

    return play
