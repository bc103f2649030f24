"""Crack / no-crack probability per tile with a LiteRT interpreter, fed as model.json says."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .batched import BatchedRunner
from .bundle import Bundle, TensorInfo
from .errors import ModelError
from .interpreter import load_interpreter
from .preprocess import dequantize, to_model_input

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
    """classify(): preprocess, set input, invoke, dequantize; a frame's tiles in one invoke (up to 64,
    edge/batched.py)."""

    def __init__(self, bundle: Bundle, threads: int = 2):
        if bundle.info.task != "classification":
            raise ModelError(f"{bundle.folder}: task is {bundle.info.task}, expected classification")
        self.info = bundle.info
        self.name = bundle.info.name
        self.sha256 = bundle.info.sha256
        interp = load_interpreter(bundle.model_path, threads)
        inp = interp.get_input_details()
        out = interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"{bundle.model_path}: expected one input and one output tensor")
        _check_tensor("input", inp[0], self.info.input, bundle.model_path)
        _check_tensor("output", out[0], self.info.output, bundle.model_path)
        self._runner = BatchedRunner(interp, inp[0]["index"], out[0]["index"], self.info.input.shape, self.name)

    @property
    def batches(self) -> bool:
        return self._runner.batches

    @property
    def input_size(self) -> Tuple[int, int]:
        return self.info.input.shape[1], self.info.input.shape[2]

    def classify(self, patches: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB patches -> (N,) crack probabilities."""
        if patches.ndim == 3:
            patches = patches[None]
        if patches.shape[1:3] != self.input_size:
            raise ValueError(f"patches are {patches.shape[1:3]}, model wants {self.input_size}")
        q = self._runner.run(to_model_input(patches, self.info))
        return dequantize(q.reshape(-1, q.shape[-1])[:, -1], self.info.output)  # the last class: crack
