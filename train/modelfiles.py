"""Model files: a .keras model loaded with one-line errors, a .tflite file's tensors as model.json
content, and a model's task read from the model itself.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Optional

import numpy as np

from edge.models.bundle import ModelInfo, Normalization, TensorInfo, TileInfo, load_bundle, sha256_of
from edge.errors import ModelError

from .data import LABELS

_DTYPE_NAMES = {np.int8: "int8", np.uint8: "uint8", np.float32: "float32", np.float16: "float16"}
SEG_LABELS = ("background", "crack")
EDGE_TILE = 227  # the edge's tile size (classifier input); segmenters resize it to their own input


def tensor_info(detail: dict) -> TensorInfo:
    """model.json TensorInfo from an interpreter's tensor detail."""
    dtype = _DTYPE_NAMES.get(detail["dtype"])
    if dtype is None:
        raise ModelError(f"unsupported tensor type {detail['dtype']}")
    scale, zero_point = detail["quantization"]
    return TensorInfo(
        shape=[int(s) for s in detail["shape"]], dtype=dtype, scale=float(scale), zero_point=int(zero_point)
    )


def default_model_info(tflite_path, name: Optional[str] = None, **fields) -> ModelInfo:
    """model.json content for a .tflite file: tensors read from the file, the rest from the
    project's conventions (raw 0-255 RGB input, sigmoid crack probability per tile or, for a
    [1, S, S, 1] output, per pixel; 227 px tiles)."""
    from edge.models.interpreter import load_interpreter

    path = Path(tflite_path)
    interp = load_interpreter(path, threads=1)
    inputs, outputs = interp.get_input_details(), interp.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"{path}: expected one input and one output tensor")
    inp, out = tensor_info(inputs[0]), tensor_info(outputs[0])
    if len(inp.shape) != 4 or inp.shape[3] != 3:
        raise ModelError(f"{path}: input shape {inp.shape} is not (1, H, W, 3)")
    segmenter = len(out.shape) == 4
    if segmenter and (out.shape[1:3] != inp.shape[1:3] or out.shape[3] != 1):
        raise ModelError(f"{path}: output {out.shape} is not a [1, S, S, 1] mask for input {inp.shape}")
    values = dict(
        name=name or path.stem,
        task="segmentation" if segmenter else "classification",
        file=path.name,
        sha256=sha256_of(path),
        color_order="RGB",
        input=inp,
        output=out,
        normalization=Normalization(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0]),
        labels=list(SEG_LABELS if segmenter else LABELS),
        threshold=0.5,
        # a segmenter is fed the edge's 227 px tiles, resized to its input
        tile=TileInfo(size=EDGE_TILE, stride=EDGE_TILE)
        if segmenter
        else TileInfo(size=inp.shape[1], stride=inp.shape[1]),
    )
    values.update(fields)
    return ModelInfo(**values)


def load_keras(path):
    """A .keras model, or ModelError with one line for a missing or corrupt file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    if not zipfile.is_zipfile(path):  # a .keras file is a zip archive; say so rather than Keras' "not found"
        raise ModelError(f"{path}: not a .keras model file (not a zip archive; truncated or corrupt?)")
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same to the user
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a loadable .keras model ({msg[:200]})") from None


def model_task(path) -> str:
    """'classification' or 'segmentation' from the model itself (its output rank), checked
    against model.json's task where there is one."""
    path = Path(path)
    if path.is_dir():
        bundle = load_bundle(path)
        rank = len(bundle.info.output.shape)
        if (rank == 4) != (bundle.info.task == "segmentation"):
            raise ModelError(f"{path}/model.json: task {bundle.info.task} does not match the model output "
                             f"{bundle.info.output.shape}")
        return bundle.info.task
    if not path.exists():
        raise ModelError(f"{path}: model not found")
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return "segmentation" if len(load_keras(path).output_shape) == 4 else "classification"
    if suffix == ".tflite":
        from edge.models.interpreter import load_interpreter

        try:
            out = load_interpreter(path, threads=1).get_output_details()
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError for a bad file
            raise ModelError(f"{path}: not a loadable .tflite model ({str(exc).splitlines()[0][:200]})") from None
        return "segmentation" if out and len(out[0]["shape"]) == 4 else "classification"
    raise ModelError(f"{path}: expected a .keras file, a .tflite file or a bundle folder")
