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
    """classify(): preprocess, set input, invoke, dequantize; one tile at a time (batch of 1)."""

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

    @property
    def input_size(self) -> Tuple[int, int]:
        return self.info.input.shape[1], self.info.input.shape[2]

    def classify(self, patches: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB patches -> (N,) crack probabilities."""
        if patches.ndim == 3:
            patches = patches[None]
        if patches.shape[1:3] != self.input_size:
            raise ValueError(f"patches are {patches.shape[1:3]}, model wants {self.input_size}")
        x = to_model_input(patches, self.info)
        outputs = []
        for i in range(len(x)):
            self._interp.set_tensor(self._in_index, x[i : i + 1])
            self._interp.invoke()
            outputs.append(self._interp.get_tensor(self._out_index)[0].copy())
        probs = dequantize(np.stack(outputs), self.info.output)
        return probs.reshape(len(x), -1)[:, -1]
