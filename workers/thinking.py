"""The policy's reply templates: `plain`, or `think` (reasoning in <think>...</think>, then the reply).

Under `think` only the text after </think> reaches the user simulator; a reply that does not
open with one closed think block followed by a non-empty answer is a format violation, which
ends the dialogue with reward 0 (RLVER's rule), so the policy cannot skip or leak its reasoning.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from workers.env.phrases import phrase_bank

TEMPLATES = ("plain", "think")
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
