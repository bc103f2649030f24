"""Crack / no-crack probability per tile with a LiteRT interpreter, fed as model.json says."""
from __future__ import annotations

import logging
from typing import Tuple

import numpy as np

from .bundle import Bundle, TensorInfo
from .errors import ModelError
from .interpreter import load_interpreter
from .preprocess import dequantize, to_model_input

log = logging.getLogger(__name__)

_NP_NAMES = {np.int8: "int8", np.uint8: "uint8", np.float32: "float32", np.float16: "float16"}


def _check_tensor(where: str, detail: dict, expected: TensorInfo, model_path) -> None:
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


class Classifier:
    """classify(): preprocess, set input, invoke, dequantize. All the tiles of a frame go through one
    invoke: the interpreter's batch is resized to the tile count (once per frame size), which saves
    the per-call overhead and lets the kernels work on bigger blocks; the arithmetic per tile is the
    same as with a batch of 1."""

    def __init__(self, bundle: Bundle, threads: int = 2):
        if bundle.info.task != "classification":
            raise ModelError(f"{bundle.folder}: task is {bundle.info.task}, expected classification")
        self.info = bundle.info
        self.name = bundle.info.name
        self.sha256 = bundle.info.sha256
        self._interp = load_interpreter(bundle.model_path, threads)
        inp = self._interp.get_input_details()
        out = self._interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"{bundle.model_path}: expected one input and one output tensor")
        _check_tensor("input", inp[0], self.info.input, bundle.model_path)
        _check_tensor("output", out[0], self.info.output, bundle.model_path)
        self._in_index = inp[0]["index"]
        self._out_index = out[0]["index"]
        self._batch = 1
        self.batches = True  # all tiles in one invoke, until the graph refuses a batch

    @property
    def input_size(self) -> Tuple[int, int]:
        return self.info.input.shape[1], self.info.input.shape[2]

    def _resize(self, batch: int) -> bool:
        """Batch of `batch` tiles; False (and back to a batch of 1) for a graph that cannot take it,
        e.g. a Reshape written for one tile."""
        try:
            self._interp.resize_tensor_input(self._in_index, [batch] + list(self.info.input.shape[1:]))
            self._interp.allocate_tensors()
            batched = int(self._interp.get_output_details()[0]["shape"][0]) == batch
        except (RuntimeError, ValueError):
            batched = False
        if not batched and batch != 1:
            log.info("%s: the graph does not take a batch of %d; tiles go one at a time", self.name, batch)
            self.batches = False
            return self._resize(1)
        self._batch = batch
        return batched

    def classify(self, patches: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB patches -> (N,) crack probabilities."""
        if patches.ndim == 3:
            patches = patches[None]
        if patches.shape[1:3] != self.input_size:
            raise ValueError(f"patches are {patches.shape[1:3]}, model wants {self.input_size}")
        n = len(patches)
        x = to_model_input(patches, self.info)
        if self.batches and n > 0 and n != self._batch:
            self._resize(n)
        if self._batch == n:
            chunks = [x]
        else:
            chunks = [x[i : i + 1] for i in range(n)]
        outputs = []
        for chunk in chunks:
            self._interp.set_tensor(self._in_index, chunk)
            self._interp.invoke()
            outputs.append(self._interp.get_tensor(self._out_index).reshape(len(chunk), -1)[:, -1])
        if not outputs:
            return np.empty(0, np.float32)
        return dequantize(np.concatenate(outputs), self.info.output)
