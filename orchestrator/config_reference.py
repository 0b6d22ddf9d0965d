"""The config reference, generated from the schema: every field's dotted key, type, default and
description, as the documentation site shows them. A field's documentation lives once, in its
pydantic description, so the site cannot drift from the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from orchestrator.config import ExperimentConfig


def config_fields(model: type[BaseModel] = ExperimentConfig, prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """(dotted key, field) for every leaf of the schema; a section is walked, not listed. A section's
    own fields come before those it inherits (pydantic lists a base's first): `simulator` is the
    `llm` user's fields plus its own, and a reader looks for `simulator.name` first."""
    own = vars(model).get("__annotations__", {})
    for name in sorted(model.model_fields, key=lambda n: n not in own):
        key, field = f"{prefix}{name}", model.model_fields[name]
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from config_fields(kind, f"{key}.")
        else:
            yield key, field


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation).replace("typing.", "")
    return text.replace("|", "\\|")


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return f"`{value!r}`".replace("|", "\\|")


def markdown_reference() -> str:
    """One table per top-level section: key, type, default, description."""
    sections: dict[str, list[str]] = {}
    for key, field in config_fields():
        section = key.split(".")[0] if "." in key else "(top level)"
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        sections.setdefault(section, []).append(
            f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {description} |"
        )
    out = []
    for section, rows in sections.items():
        out += [f"## {section}", "", "| key | type | default | description |", "|---|---|---|---|", *rows, ""]
    return "\n".join(out)
