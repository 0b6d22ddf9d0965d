"""workers/env has no import circles, deferred imports inside functions included."""

import ast
from pathlib import Path

import workers.env

PACKAGE = Path(workers.env.__file__).parent


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("workers.env."):
            found.add(node.module.removeprefix("workers.env."))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("workers.env.") for a in node.names if a.name.startswith("workers.env.")}
    return found


def test_no_module_of_workers_env_imports_itself_back():
    graph = {p.stem: imports_of(p) for p in PACKAGE.glob("*.py")}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, " -> ".join([*visiting[visiting.index(module) :], module])
        if module in done:
            return
        visiting.append(module)
        for target in graph.get(module, ()):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in graph:
        visit(module)
