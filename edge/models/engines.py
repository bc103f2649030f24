"""Which engine runs a model's int8 graph, and what every model on tiles shares.

An engine is `litert` (the .tflite through a TFLite interpreter) or `native` (the model compiled to C by
`python -m convert.ccode`); either gives a runner whose run_pixels((N, ...) pixels, feed) and run_rows(a frame's
rows of tiles, feed) return the (N, ...) raw outputs, feed (edge/models/preprocess.py PixelFeed) making the model
input, so the classifier and the segmenter do their pre- and post-processing once, whatever runs the model.
"""
from __future__ import annotations

import logging

import numpy as np

from edge.errors import ModelError
from edge.frame.tiler import TileGrid
from edge.models.batched import BatchedRunner
from edge.models.bundle import Bundle, TensorInfo
from edge.models.interpreter import load_interpreter
from edge.models.preprocess import PixelFeed

log = logging.getLogger(__name__)

_NP_NAMES = {np.int8: "int8", np.uint8: "uint8", np.float32: "float32", np.float16: "float16"}


def check_tensor(where: str, detail: dict, expected: TensorInfo, model_path) -> None:
    """Refuse a model whose tensor disagrees with model.json: feeding it would give garbage."""
    shape = [int(s) for s in detail["shape"]]
    dtype = _NP_NAMES.get(detail["dtype"], str(detail["dtype"]))
    scale, zero_point = detail["quantization"]
    problems = []
    if shape != list(expected.shape):
        problems.append(f"shape {shape} != model.json {list(expected.shape)}")
    if dtype != expected.dtype:
        problems.append(f"dtype {dtype} != model.json {expected.dtype}")
    elif not dtype.startswith("float"):
        if not np.isclose(scale, expected.scale, rtol=1e-5) or zero_point != expected.zero_point:
            problems.append(
                f"quantization ({scale:g}, {zero_point}) != model.json ({expected.scale:g}, {expected.zero_point})"
            )
    if problems:
        raise ModelError(f"{model_path}: {where} " + "; ".join(problems))


def check_model_file(bundle: Bundle, backend: str) -> None:
    """Refuse (ModelError) a .tflite whose tensors disagree with its model.json, without planning an
    interpreter's memory: the robot checks its models before it opens the camera, and builds their
    interpreters after (edge/loop/compose.py)."""
    if backend == "litert":
        _refuse_library(bundle)
        _checked(bundle, load_interpreter(bundle.model_path, 1, allocate=False))


def _refuse_library(bundle: Bundle) -> None:
    from edge.models.native import is_native_bundle

    if is_native_bundle(bundle):
        raise ModelError(f"{bundle.folder}: holds a compiled library ({bundle.info.file}); set models.backend: native")


def _checked(bundle: Bundle, interp):
    """(input, output details) of the interpreter, refused unless they are what model.json says."""
    inp = interp.get_input_details()
    out = interp.get_output_details()
    if len(inp) != 1 or len(out) != 1:
        raise ModelError(f"{bundle.model_path}: expected one input and one output tensor")
    check_tensor("input", inp[0], bundle.info.input, bundle.model_path)
    check_tensor("output", out[0], bundle.info.output, bundle.model_path)
    return inp, out


def litert(bundle: Bundle, threads: int, batches: bool):
    _refuse_library(bundle)
    interp = load_interpreter(bundle.model_path, threads)
    inp, out = _checked(bundle, interp)
    return BatchedRunner(interp, inp[0]["index"], out[0]["index"], bundle.info.input.shape, bundle.info.name,
                         batches=batches)


def native(bundle: Bundle, threads: int, batches: bool):
    from edge.models.native import native_model

    if threads > 1:
        log.debug("native backend runs single-threaded; threads=%d ignored", threads)
    return native_model(bundle)


ENGINES = {"litert": litert, "native": native}


class TileModel:
    """A bundle's model on tiles: its info, name and sha256, checked against its task, run by an engine."""

    task = ""
    may_batch = True  # whether the engine may run many inputs in one invoke

    def __init__(self, bundle: Bundle, threads: int = 2, backend: str = "litert"):
        if bundle.info.task != self.task:
            raise ModelError(f"{bundle.folder}: task is {bundle.info.task}, expected {self.task}")
        if backend not in ENGINES:
            raise ModelError(f"unknown model backend {backend!r} (choose from {', '.join(ENGINES)})")
        self.info = bundle.info
        self.name = bundle.info.name
        self.sha256 = bundle.info.sha256
        self.check_info(bundle)
        self.feed = PixelFeed(bundle.info)  # pixels -> this model's input
        self.engine = ENGINES[backend](bundle, threads, self.may_batch)

    def run_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 pixels -> (N, ...) raw model outputs; LiteRT takes them converted straight
        into its input buffer."""
        return self.engine.run_pixels(pixels, self.feed)

    def run_grid(self, grid: TileGrid) -> np.ndarray:
        """A frame's TileGrid -> (N, ...) raw outputs: LiteRT reads each row of tiles from the frame into
        its input buffer."""
        return self.engine.run_rows(grid.rows_of_tiles(), self.feed)

    def check_info(self, bundle: Bundle) -> None:
        """Refuse a model.json this kind of model cannot be fed by (ModelError)."""
