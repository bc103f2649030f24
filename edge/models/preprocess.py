"""One definition of how pixels become model input and model output becomes probabilities.

train/ and convert/ import these too, so a model is fed the same way everywhere.
"""
from __future__ import annotations

import cv2
import numpy as np

from edge.models.bundle import ModelInfo, TensorInfo

_DTYPES = {"int8": np.int8, "uint8": np.uint8, "float32": np.float32, "float16": np.float16}


def normalize(pixels: np.ndarray, info: ModelInfo) -> np.ndarray:
    """uint8 RGB pixels (..., 3) -> float32 model-space values: (pixel - mean) / std."""
    x = pixels.astype(np.float32)
    if info.color_order == "BGR":
        x = x[..., ::-1]
    mean = np.asarray(info.normalization.mean, np.float32)
    std = np.asarray(info.normalization.std, np.float32)
    return (x - mean) / std


def quantize(x: np.ndarray, tensor: TensorInfo) -> np.ndarray:
    """Float values -> the tensor's dtype, using its own scale and zero point."""
    dtype = _DTYPES[tensor.dtype]
    if tensor.dtype.startswith("float"):
        return x.astype(dtype)
    info = np.iinfo(dtype)
    q = np.round(x / tensor.scale) + tensor.zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, tensor: TensorInfo) -> np.ndarray:
    if tensor.dtype.startswith("float"):
        return q.astype(np.float32)
    return (q.astype(np.float32) - tensor.zero_point) * tensor.scale


def pixel_table(info: ModelInfo) -> np.ndarray:
    """(256, 3): the model input of every 8-bit level in each model channel (model channel order)."""
    levels = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    if info.color_order == "BGR":
        levels = levels[:, ::-1]  # normalize() flips it back, leaving the table in model order
    return quantize(normalize(levels, info), info.input)


def to_model_input(pixels: np.ndarray, info: ModelInfo) -> np.ndarray:
    """uint8 RGB pixels (..., H, W, 3) -> model input. 8-bit pixels go through a lookup table: the same
    values as the arithmetic below, at a fraction of its cost (no float copy of the frame)."""
    if (pixels.dtype != np.uint8 or pixels.ndim < 3 or pixels.shape[-1] != 3 or pixels.size == 0
            or info.input.dtype == "float16"):
        return quantize(normalize(pixels, info), info.input)
    if info.color_order == "BGR":
        pixels = pixels[..., ::-1]
    flat = np.ascontiguousarray(pixels).reshape(-1, pixels.shape[-2], 3)  # cv2.LUT takes 2-D images
    return cv2.LUT(flat, pixel_table(info).reshape(1, 256, 3)).reshape(pixels.shape)
