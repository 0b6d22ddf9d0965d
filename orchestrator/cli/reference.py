"""The CLI reference, generated from the typer app: every verb's help and options, as the
documentation site shows them."""

from __future__ import annotations

from typing import Any

import typer

from orchestrator.cli.main import app


def _commands(group: Any, prefix: str) -> list[tuple[str, Any]]:
    """(full name, command) for every verb, sub-verbs included. Typer builds on its own copy of
    click, so commands and parameters are told apart by what they have, not by click's classes."""
    found = []
    for name in sorted(group.commands):
        command = group.commands[name]
        found.append((f"{prefix} {name}", command))
        if hasattr(command, "commands"):
            found += _commands(command, f"{prefix} {name}")
    return found


def markdown_reference() -> str:
    out = []
    for name, command in _commands(typer.main.get_command(app), "goldilocks"):
        out += [f"## `{name}`", "", (command.help or "").strip(), ""]
        rows = []
        for param in command.params:
            if param.param_type_name == "option":
                flags = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
                default = "" if param.default is None or param.required else f"`{param.default!r}`"
                rows.append(f"| {flags} | {default} | {(param.help or '').replace('|', '/')} |")
            elif param.param_type_name == "argument":
                rows.append(f"| `{(param.name or '').upper()}` (argument) | | {getattr(param, 'help', '') or ''} |")
        if rows:
            out += ["| option | default | what it does |", "|---|---|---|", *rows, ""]
    return "\n".join(out)
