"""The `native` backend: a model compiled to C by `python -m convert.ccode`, loaded with ctypes.

The compiled folder is a bundle like any other (model.json names the shared library as its file and
carries the library's sha256), so the rest of the edge does not know the difference. No TFLite
runtime is needed: the library holds the whole model.
"""
from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

from edge.models.bundle import Bundle, ModelInfo
from edge.errors import ModelError

log = logging.getLogger(__name__)

NATIVE_SUFFIXES = (".so", ".dylib", ".dll")
_PREFIX = "crack_model"
# One lock per loaded library: the generated code keeps its activations in one static arena.
_LOCKS: Dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def is_native_bundle(bundle: Bundle) -> bool:
    """True when the bundle's model file is a compiled library rather than a .tflite file."""
    return Path(bundle.info.file).suffix.lower() in NATIVE_SUFFIXES


def _symbol(lib, ctype, name: str, path: Path):
    try:
        return ctype.in_dll(lib, f"{_PREFIX}_{name}")
    except ValueError:
        raise ModelError(f"{path}: library has no {_PREFIX}_{name} (not built by python -m convert.ccode?)") from None


class NativeModel:
    """One compiled model: invoke() takes the quantized input tensor and returns the output tensor."""

    def __init__(self, library: Path, info: ModelInfo):
        library = Path(library)
        if not library.is_file():
            raise ModelError(f"{library}: compiled model library not found")
        try:
            self._lib = ctypes.CDLL(str(library.resolve()))
        except OSError as exc:
            raise ModelError(f"{library}: cannot load the compiled model ({exc})") from None
        try:
            self._run = self._lib.crack_model_run
        except AttributeError:
            raise ModelError(f"{library}: no crack_model_run symbol (not built by python -m convert.ccode?)") from None
        self._run.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._run.restype = ctypes.c_int
        in_shape = list(_symbol(self._lib, ctypes.c_int32 * 4, "input_shape", library))
        rank = _symbol(self._lib, ctypes.c_int32, "output_rank", library).value
        out_shape = list(_symbol(self._lib, ctypes.c_int32 * 4, "output_shape", library))[:rank]
        in_q = (_symbol(self._lib, ctypes.c_float, "input_scale", library).value,
                _symbol(self._lib, ctypes.c_int32, "input_zero_point", library).value)
        out_q = (_symbol(self._lib, ctypes.c_float, "output_scale", library).value,
                 _symbol(self._lib, ctypes.c_int32, "output_zero_point", library).value)
        self.arena_bytes = _symbol(self._lib, ctypes.c_int32, "arena_bytes", library).value
        for where, shape, (scale, zp), expected in (("input", in_shape, in_q, info.input),
                                                    ("output", out_shape, out_q, info.output)):
            if shape != list(expected.shape) or expected.dtype != "int8":
                raise ModelError(
                    f"{library}: {where} shape {shape} int8 != model.json {expected.shape} {expected.dtype}"
                )
            if not np.isclose(scale, expected.scale, rtol=1e-5) or zp != expected.zero_point:
                raise ModelError(f"{library}: {where} quantization ({scale:g}, {zp}) != model.json "
                                 f"({expected.scale:g}, {expected.zero_point})")
        self.input_shape: Tuple[int, ...] = tuple(in_shape)
        self.output_shape: Tuple[int, ...] = tuple(out_shape)
        self._out = np.empty(self.output_shape, np.int8)
        with _LOCKS_GUARD:
            self._lock = _LOCKS.setdefault(str(library.resolve()), threading.Lock())

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """One quantized int8 input tensor (with or without the batch of 1) -> a copy of the output tensor."""
        x = np.ascontiguousarray(x, dtype=np.int8)
        if x.size != int(np.prod(self.input_shape)):
            raise ValueError(f"input has {x.size} values, the model takes {self.input_shape}")
        with self._lock:
            rc = self._run(x.ctypes.data, self._out.ctypes.data)
            out = self._out.copy()
        if rc != 0:
            raise ModelError(f"compiled model returned {rc}")
        return out

    batches = False  # the compiled model has a batch of 1

    def run_pixels(self, pixels: np.ndarray, feed) -> np.ndarray:
        """(N, ...) pixels -> (N, ...) outputs, one run each (the compiled model has a batch of 1);
        feed(pixels) makes the int8 inputs (edge/models/preprocess.py PixelFeed)."""
        if len(pixels) == 0:
            return np.empty((0,) + tuple(self.output_shape[1:]), np.int8)
        return np.concatenate([self.invoke(item).reshape(self.output_shape) for item in feed(pixels)])

    def run_rows(self, rows, feed) -> np.ndarray:
        """A frame's tiles as rows of views (edge/frame/tiler.py TileGrid), run one by one."""
        return self.run_pixels(np.concatenate([piece for row in rows for piece in row]), feed)


def native_model(bundle: Bundle) -> NativeModel:
    if not is_native_bundle(bundle):
        raise ModelError(f"{bundle.folder}: backend native needs a compiled model folder "
                         f"(python -m convert.ccode --model {bundle.folder} --out DIR), found {bundle.info.file}")
    return NativeModel(bundle.model_path, bundle.info)


class NativeInterpreter:
    """The few methods of a TFLite interpreter that callers use (details, set_tensor, invoke,
    get_tensor), on a compiled model: code written for LiteRT runs it unchanged."""

    def __init__(self, bundle: Bundle):
        self._model = native_model(bundle)
        self._info = bundle.info
        self._input = np.zeros(self._model.input_shape, np.int8)
        self._output = np.zeros(self._model.output_shape, np.int8)

    def allocate_tensors(self) -> None:
        pass  # the arena is static

    def _details(self, index: int, shape, tensor) -> list:
        return [{"index": index, "name": "input" if index == 0 else "output", "shape": np.array(shape, np.int32),
                 "dtype": np.int8, "quantization": (tensor.scale, tensor.zero_point)}]

    def get_input_details(self) -> list:
        return self._details(0, self._model.input_shape, self._info.input)

    def get_output_details(self) -> list:
        return self._details(1, self._model.output_shape, self._info.output)

    def set_tensor(self, index: int, value: np.ndarray) -> None:
        if index != 0:
            raise ValueError("the compiled model has one input, index 0")
        self._input = np.ascontiguousarray(value, np.int8).reshape(self._model.input_shape)

    def invoke(self) -> None:
        self._output = self._model.invoke(self._input)

    def get_tensor(self, index: int) -> np.ndarray:
        if index != 1:
            raise ValueError("the compiled model has one output, index 1")
        return self._output
