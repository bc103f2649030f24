"""monitor/ imports no module of its own in a circle, not even lazily inside a function."""
from __future__ import annotations

import ast
from pathlib import Path

import monitor

PACKAGE = Path(monitor.__file__).parent


def _imports(path: Path, names: set[str]) -> set[str]:
    """monitor modules that path imports anywhere in its body (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:
                found.add(module.split(".")[0] if module else "")
                if not module:
                    found |= {a.name for a in node.names}
            elif module.startswith("monitor."):
                found.add(module.split(".")[1])
            elif module == "monitor":
                found |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("monitor.")}
    return found & names - {path.stem, "__init__"}


def test_no_import_cycle_in_monitor():
    modules = {p.stem: p for p in PACKAGE.glob("*.py")}
    graph = {name: _imports(path, set(modules)) for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        for dep in sorted(graph[name]):
            assert dep not in path, "import cycle: " + " -> ".join(path[path.index(dep):] + [dep])
            if dep not in done:
                visit(dep, path + [dep])
        done.add(name)

    for name in sorted(graph):
        visit(name, [name])


def test_the_graph_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from monitor.cli import main\n    from . import report\n")
    assert _imports(module, {"cli", "report", "live"}) == {"cli", "report"}
