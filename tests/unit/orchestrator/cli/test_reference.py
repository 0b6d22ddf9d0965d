"""The CLI reference is generated from the typer app: every verb, with its options' help."""

import typer

from orchestrator.cli.main import app
from orchestrator.cli.reference import markdown_reference


def test_every_verb_and_option_is_on_the_page():
    page = markdown_reference()
    command = typer.main.get_command(app)
    for name in command.commands:
        assert f"## `goldilocks {name}`" in page
    assert "## `goldilocks jobs logs`" in page
    assert "| `--resume` |" in page and "| `--set`, `-s` |" in page
