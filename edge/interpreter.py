"""Loads a TFLite interpreter: LiteRT first, tflite-runtime as the fallback for numpy<2 systems."""
from __future__ import annotations

import logging
from pathlib import Path

from .errors import ModelError

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


def load_interpreter(path, threads: int = 2):
    """An allocated interpreter for the .tflite file at `path`."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    Interpreter = _interpreter_class()
    try:
        interp = Interpreter(model_path=str(path), num_threads=threads)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a loadable TFLite model ({msg})") from None
    return interp
