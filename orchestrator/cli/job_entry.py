"""The entry point of a submitted Ray job: checks the cluster's Python before anything else.

A cluster node whose Python lacks goldilocks' dependencies would otherwise fail with a bare
"No module named typer" deep in a traceback. This module imports nothing but the standard
library until the check has passed, then hands over to the CLI.
"""

from __future__ import annotations

import importlib.util
import sys

REQUIRED = ("typer", "pydantic", "yaml", "ray", "mlflow", "optuna", "torch", "transformers", "sklearn", "spellchecker")
"""Import names of what a run needs on the node that drives it."""


def missing_modules(names: tuple[str, ...] = REQUIRED) -> list[str]:
    return [name for name in names if importlib.util.find_spec(name) is None]


def main(argv: list[str] | None = None, required: tuple[str, ...] = REQUIRED) -> int:
    missing = missing_modules(required)
    if missing:
        print(
            f"goldilocks cannot run here: this Python ({sys.executable}) lacks {', '.join(missing)}.\n"
            "Install goldilocks on every node of the cluster (pip install -e '.[cpu]' or '.[gpu]' in the project, "
            "or start the nodes from docker/Dockerfile.cpu or docker/Dockerfile.gpu), then submit again.",
            file=sys.stderr,
            flush=True,
        )
        return 3
    from orchestrator.cli.main import app

    app(args=sys.argv[1:] if argv is None else argv, prog_name="goldilocks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
