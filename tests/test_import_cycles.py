"""No module of the project imports itself in a circle, not even through a lazy import inside a function:
a circle is two modules that cannot be understood, tested or moved apart."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edge", "train", "convert", "monitor", "crackbot", "bench")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: Set[str], root: Path = ROOT) -> Set[str]:
    """The project modules `path` imports anywhere in its body; `from pkg import name` counts as
    importing pkg.name where that is a module, else pkg."""
    own = module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != own}


def graph(root: Path = ROOT, packages=PACKAGES) -> Dict[str, Set[str]]:
    paths = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")
             if "__pycache__" not in p.parts}
    return {name: imports_of(path, set(paths), root) for name, path in paths.items()}


def cycles(g: Dict[str, Set[str]]) -> List[List[str]]:
    found, done = [], set()

    def visit(name: str, path: List[str]) -> None:
        for dep in sorted(g[name]):
            if dep in path:
                found.append(path[path.index(dep):] + [dep])
            elif dep not in done:
                visit(dep, path + [dep])
        done.add(name)

    for name in sorted(g):
        visit(name, [name])
    return found


def test_no_import_cycle_in_the_project():
    assert cycles(graph()) == []


def test_the_check_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from p.b import g\n")
    (pkg / "b.py").write_text("from . import a\n")
    assert cycles(graph(tmp_path, ("p",))) == [["p.a", "p.b", "p.a"]]
