"""`goldilocks`: one command, with verbs. Each module of this package holds a few verbs; importing
them registers them on the one typer app."""

from orchestrator.cli import analysis_verbs, cluster_verbs, model_verbs, study_verbs, train_verbs
from orchestrator.cli.common import app

VERB_MODULES = (train_verbs, model_verbs, study_verbs, analysis_verbs, cluster_verbs)
"""Imported for their `@app.command()`s."""


def main() -> None:
    app()
