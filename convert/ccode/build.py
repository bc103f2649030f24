"""Builds the generated sources with the system C compiler into a shared library and a CLI."""
from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from edge.errors import CrackbotError

log = logging.getLogger(__name__)

BASE_FLAGS = ("-std=c99", "-O3", "-Wall", "-Wextra", "-fPIC")


class BuildError(CrackbotError):
    """The C compiler is missing or rejected the generated code."""


@dataclass(frozen=True)
class BuildResult:
    library: Path
    program: Path
    compiler: str
    flags: Tuple[str, ...]
    warnings: Tuple[str, ...]  # compiler diagnostics; the generated code is meant to have none


def library_name() -> str:
    return "libcrack_model.dylib" if sys.platform == "darwin" else "libcrack_model.so"


def find_compiler() -> str:
    cc = os.environ.get("CC", "cc")
    first = shlex.split(cc)[0] if cc.strip() else "cc"
    if shutil.which(first) is None:
        raise BuildError(f"no C compiler {first!r} on PATH: install gcc or clang (or set CC)")
    return cc


def _run(cmd: List[str], cwd: Path) -> str:
    log.debug("%s", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip()[:300])
        raise BuildError(f"{cmd[0]} failed in {cwd}: {first}")
    return proc.stderr


def _accepts(cc: List[str], flag: str) -> bool:
    """Whether the compiler takes `flag`; probed in a scratch folder (-fstack-usage on stdin writes "-.su")."""
    with tempfile.TemporaryDirectory() as scratch:
        probe = subprocess.run(cc + [flag, "-x", "c", "-c", "-", "-o", "/dev/null"], input="int x;\n",
                               capture_output=True, text=True, cwd=scratch)
    return probe.returncode == 0


def max_stack_bytes(folder) -> Optional[int]:
    """Largest stack frame among the model's functions, from model.su; None when not measured."""
    su = Path(folder) / "model.su"
    if not su.is_file():
        return None
    sizes = [int(line.split("\t")[1]) for line in su.read_text().splitlines() if line.count("\t") >= 2]
    return max(sizes, default=0)


def code_size(library: Path) -> Dict[str, int]:
    """text / data / bss bytes of the library (binutils `size`), and its file size."""
    result = {"library_bytes": library.stat().st_size}
    if shutil.which("size"):
        proc = subprocess.run(["size", "--format=berkeley", str(library)], capture_output=True, text=True)
        lines = proc.stdout.split("\n")
        if proc.returncode == 0 and len(lines) > 1:
            text, data, bss = (int(v) for v in lines[1].split()[:3])
            result.update(text_bytes=text, data_bytes=data, bss_bytes=bss)
    return result


def build(folder, march_native: bool = False) -> BuildResult:
    """model.c + weights.c -> objects -> shared library and the `crack_model` program."""
    folder = Path(folder)
    cc = shlex.split(find_compiler())
    flags = BASE_FLAGS + (("-march=native",) if march_native else ())
    diagnostics = []
    objects = []
    for source in ("model.c", "weights.c", "main.c"):
        obj = source.replace(".c", ".o")
        # -fstack-usage (gcc, clang) writes model.su: the measured stack frame of every operator.
        extra = ["-fstack-usage"] if source == "model.c" and _accepts(cc, "-fstack-usage") else []
        diagnostics.append(_run(cc + list(flags) + extra + ["-c", source, "-o", obj], folder))
        objects.append(obj)
    lib = library_name()
    shared = ["-dynamiclib"] if sys.platform == "darwin" else ["-shared"]
    diagnostics.append(_run(cc + list(flags) + shared + ["model.o", "weights.o", "-o", lib], folder))
    diagnostics.append(_run(cc + list(flags) + ["main.o", "model.o", "weights.o", "-o", "crack_model"], folder))
    for obj in objects:
        (folder / obj).unlink(missing_ok=True)
    warnings = tuple(line for text in diagnostics for line in text.splitlines() if line.strip())
    for line in warnings:
        log.warning("cc: %s", line)
    return BuildResult(folder / lib, folder / "crack_model", " ".join(cc), tuple(flags), warnings)
