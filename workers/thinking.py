"""The policy's reply templates: `plain`, or `think` (reasoning in <think>...</think>, then the reply).

Under `think` only the text after </think> reaches the user simulator, and only that text stays
in the dialogue's history for later turns (RLVER's rollout drops earlier thoughts too). A reply
that does not open with one closed think block followed by a non-empty answer is a format
violation; what follows is `policy.think_violation`:

- `end_with_zero` (default, ours): the dialogue ends there with reward 0, so the policy cannot
  skip or leak its reasoning.
- `pass_through` (RLVER's released code): the whole text, thoughts and tags included, reaches the
  simulator and the dialogue goes on; the simulator's judgement is the only penalty.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from workers.env.phrases import phrase_bank

TEMPLATES = ("plain", "think")
END_WITH_ZERO = "end_with_zero"
PASS_THROUGH = "pass_through"
VIOLATION_RULES = (END_WITH_ZERO, PASS_THROUGH)
_THINK = re.compile(r"\s*<think>(?P<thought>.*?)</think>\s*(?P<reply>.*)", re.DOTALL)


@cache
def _prompt_file(language: str, name: str) -> str:
    return resources.files("workers.env").joinpath("prompts", language, name).read_text(encoding="utf-8").strip()


def policy_system_prompt(language: str, template: str) -> str:
    """English plain is the prompt the tiny policy was warm-started with."""
    if template not in TEMPLATES:
        raise ValueError(f"policy.template must be one of {TEMPLATES}, not {template!r}")
    base = phrase_bank().system_prompt if language == "en" else _prompt_file(language, "policy.txt")
    return base if template == "plain" else f"{base} {_prompt_file(language, 'think.txt')}"


def visible_reply(text: str, template: str) -> str | None:
    """What the user gets to read; None when a `think` reply breaks the format."""
    if template == "plain":
        return text.strip()
    match = _THINK.fullmatch(text)
    if match is None:
        return None
    reply = match.group("reply").strip()
    if not reply or "<think>" in reply or "</think>" in reply:
        return None
    return reply
