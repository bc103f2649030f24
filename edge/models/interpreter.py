"""Loads a TFLite interpreter: LiteRT first, tflite-runtime as the fallback for numpy<2 systems."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from pathlib import Path

from edge.errors import ModelError

log = logging.getLogger(__name__)


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        log.info("ai-edge-litert not found; using tflite-runtime")
        return Interpreter
    except ImportError:
        raise ModelError(
            "no TFLite runtime: pip install ai-edge-litert (or tflite-runtime on numpy<2 systems)"
        ) from None


@contextlib.contextmanager
def _native_stderr_to_log():
    """The runtime's C++ code prints INFO lines straight to fd 2; keep only its warnings, via logging."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters): leave it alone
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read().decode(errors="replace").splitlines():
                if line.strip() and not line.startswith("INFO:"):
                    log.warning("runtime: %s", line)


def load_interpreter(path, threads: int = 2, allocate: bool = True):
    """An allocated interpreter for the .tflite file at `path` (allocate=False: its tensors described, their
    memory not yet planned, to check a model cheaply)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    Interpreter = _interpreter_class()
    try:
        with _native_stderr_to_log():
            interp = Interpreter(model_path=str(path), num_threads=threads)
            if allocate:
                interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a loadable TFLite model ({msg})") from None
    return interp
