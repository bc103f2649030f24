"""The layers hold: edge/ is the lowest layer and runs without TensorFlow, so no module under it imports
train, convert, monitor, tensorflow or keras (read from the source, imports inside functions included)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_EDGE = ("train", "convert", "monitor", "tensorflow", "keras")


def imported_modules(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the source, at any depth: import x, from x import y,
    importlib.import_module("x") and __import__("x") with a literal name. Relative imports stay in the package."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def forbidden_imports(source: str, forbidden=FORBIDDEN_IN_EDGE, filename: str = "<string>") -> list[str]:
    """'line: module' for each import of a forbidden top-level package."""
    return [f"{line}: {module}" for line, module in imported_modules(source, filename)
            if module.split(".")[0] in forbidden]


def test_the_checker_finds_imports_at_any_depth():
    source = '''
import os, keras.layers
from edge.frame.tiler import tile
from . import convert
from .train import x
import tensorflow as tf

def load():
    from train.data import load
    import monitor.registry
    return importlib.import_module("convert.ccode")

class A:
    def f(self):
        return __import__("tensorflow")
'''
    assert forbidden_imports(source) == ["2: keras.layers", "6: tensorflow", "9: train.data", "10: monitor.registry",
                                         "11: convert.ccode", "15: tensorflow"]
    assert forbidden_imports("import trainer\nfrom converters import x\nimport edge.train\n") == []


def test_no_edge_module_imports_a_higher_layer_or_tensorflow():
    files = sorted((ROOT / "edge").rglob("*.py"))
    assert len(files) > 20  # the walk found the package
    bad = {str(path.relative_to(ROOT)): found for path in files
           if (found := forbidden_imports(path.read_text(encoding="utf-8"), filename=str(path)))}
    assert bad == {}, f"edge/ must not import {', '.join(FORBIDDEN_IN_EDGE)}: {bad}"


@pytest.mark.parametrize("line", ["import tensorflow", "from train import data", "import keras",
                                  "from monitor.registry import Registry", "import convert.ccode as cc"])
def test_an_added_forbidden_import_would_fail(line):
    assert forbidden_imports(f"def f():\n    {line}\n")


def test_no_module_is_over_400_lines():
    """A module longer than this holds more than one job: split it by concern."""
    long = {str(p.relative_to(ROOT)): n for pkg in ("edge", "train", "convert", "monitor", "bench", "crackbot")
            for p in (ROOT / pkg).rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}
