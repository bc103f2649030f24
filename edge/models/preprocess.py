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


def _offset_table(table: np.ndarray) -> bool:
    """Whether the table maps every level p to the int8 p - 128 (raw 0-255 input, scale 1, zero point -128):
    then the conversion is a flip of the top bit, one pass of the cheapest arithmetic there is."""
    return table.dtype == np.int8 and np.array_equal(table, np.repeat(np.arange(-128, 128)[:, None], 3, axis=1))


class PixelFeed:
    """uint8 RGB pixels (..., H, W, 3) -> one model's input, in one pass over the pixels: a lookup table
    built once (the same values as normalize + quantize), or the top-bit flip where that is what the table
    is. Pixels may be a strided view (the tiler's tiles); the result is a new contiguous array."""

    def __init__(self, info: ModelInfo):
        self.info = info
        self.lookup = info.input.dtype != "float16"  # float16 inputs take the arithmetic
        self.table = pixel_table(info) if self.lookup else None
        self.flip = self.lookup and info.color_order == "RGB" and _offset_table(self.table)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        if self._arithmetic(pixels):
            return quantize(normalize(pixels, self.info), self.info.input)
        if self.flip:
            out = np.empty(pixels.shape, np.int8)
            self.into(pixels, out)
            return out
        if self.info.color_order == "BGR":
            pixels = pixels[..., ::-1]
        flat = np.ascontiguousarray(pixels).reshape(-1, pixels.shape[-2], 3)  # cv2.LUT takes 2-D images
        return cv2.LUT(flat, self.table.reshape(1, 256, 3)).reshape(pixels.shape)

    def _arithmetic(self, pixels: np.ndarray) -> bool:
        return pixels.dtype != np.uint8 or pixels.ndim < 3 or pixels.shape[-1] != 3 or pixels.size == 0 \
            or not self.lookup

    def into(self, pixels: np.ndarray, out: np.ndarray) -> None:
        """The same conversion written into `out` (an interpreter's input buffer): the flip goes
        straight there, in one pass and no array in between."""
        if self.flip and not self._arithmetic(pixels):  # the flip's model input is int8
            np.bitwise_xor(pixels, np.uint8(0x80), out=out.view(np.uint8))
        else:
            out[...] = self(pixels)


def to_model_input(pixels: np.ndarray, info: ModelInfo) -> np.ndarray:
    """uint8 RGB pixels (..., H, W, 3) -> model input (see PixelFeed, for many calls with one model)."""
    return PixelFeed(info)(pixels)
