"""The project's layout: its layers, from the top: the CLI (`orchestrator.cli`), sweeps, the rest
of the orchestrator, the workers. A module imports only from its own layer or below, and no module
imports itself back through others (deferred imports inside functions count too); no module is
longer than a reader can hold."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("orchestrator", "workers", "sweeps")


def layer(module: str) -> int:
    if module == "orchestrator.cli" or module.startswith("orchestrator.cli."):
        return 3
    return {"sweeps": 2, "orchestrator": 1, "workers": 0}[module.split(".")[0]]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules `path` imports (`from a.b import c` counts a.b.c when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            found |= {n for n in names if n in modules} or ({node.module} & modules)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
    return found


def graph() -> dict[str, set[str]]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    modules = {module_name(p) for p in files}
    return {module_name(p): project_imports(p, modules) - {module_name(p)} for p in files}


def test_the_graph_sees_the_packages():
    g = graph()
    assert "orchestrator.driver" in g and "workers.env.users.rule_simulator" in g and "sweeps.runner" in g
    assert "orchestrator.config" in g["orchestrator.driver"]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_from_a_layer_above_its_own(package):
    upward = [
        f"{source} -> {target}"
        for source, targets in graph().items()
        if source.split(".")[0] == package
        for target in targets
        if layer(target) > layer(source)
    ]
    assert upward == []


def test_no_module_imports_itself_back():
    g = graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, " -> ".join([*visiting[visiting.index(module) :], module])
        if module in done:
            return
        visiting.append(module)
        for target in sorted(g.get(module, ())):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(g):
        visit(module)


def test_no_module_is_over_500_lines():
    """A module that long holds more than one job; split it by concern."""
    long = {
        str(p.relative_to(ROOT)): n
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert long == {}


def test_loading_a_config_and_the_cli_imports_no_torch():
    """Every `goldilocks` command loads a config first; torch alone takes seconds to import."""
    import subprocess
    import sys

    probe = "import sys, orchestrator.cli.main, orchestrator.config; print(sorted({'torch', 'vllm', 'ray'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
