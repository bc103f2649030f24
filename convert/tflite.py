"""Keras -> TFLite bytes. One table of export variants and their converter options.

Exports rebuild the model with a FIXED batch of 1 (the edge runs one tile at a time, and an
open batch dimension sent some ops onto slow kernels) and copy the trained weights into it.
"""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Dict, Iterator, Optional

import numpy as np

from edge.models.bundle import ModelInfo, Normalization, TensorInfo, TileInfo
from edge.errors import ModelError
from edge.models.preprocess import normalize

log = logging.getLogger(__name__)

# variant -> converter options. int8 is what the device runs; the others are for comparison.
EXPORTERS: Dict[str, Dict[str, object]] = {
    "fp32": {"optimize": False, "fp16": False, "int8": False, "description": "float32, no quantization"},
    "fp16": {"optimize": True, "fp16": True, "int8": False, "description": "float16 weights, float compute"},
    "dynamic": {"optimize": True, "fp16": False, "int8": False, "description": "int8 weights, float activations"},
    "int8": {"optimize": True, "fp16": False, "int8": True, "description": "full integer, int8 input and output"},
    # for runtimes and cameras that want unsigned bytes in and out (e.g. some MCU and NPU toolchains)
    "uint8": {"optimize": True, "fp16": False, "int8": True, "io": "uint8",
              "description": "full integer, uint8 input and output"},
}
DEFAULT_CALIBRATION = 300  # representative patches: a few hundred settle the activation ranges


def _raw_pixels_info(size: int) -> ModelInfo:
    """Preprocessing of every zoo model: raw 0-255 RGB (the model rescales inside)."""
    float_tensor = TensorInfo(shape=[1, size, size, 3], dtype="float32")
    return ModelInfo(
        name="calibration", task="classification", sha256="", input=float_tensor,
        output=TensorInfo(shape=[1, 1], dtype="float32"),
        normalization=Normalization(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0]),
        labels=["no_crack", "crack"], tile=TileInfo(size=size, stride=size),
    )


def export_model(keras_model):
    """The same graph and weights with a fixed (1, H, W, C) input."""
    import keras

    shape = tuple(keras_model.input_shape[1:])
    if any(d is None for d in shape):
        raise ModelError(f"model input {keras_model.input_shape} has an open spatial size; export needs a fixed one")
    inputs = keras.Input(batch_shape=(1,) + shape, name="image")
    try:
        clone = keras.models.clone_model(keras_model, input_tensors=inputs)
    except Exception as exc:  # subclassed models cannot be cloned onto a new input
        raise ModelError(f"cannot rebuild {keras_model.name} with a batch of 1 ({exc})") from None
    clone.set_weights(keras_model.get_weights())
    return clone


def representative_dataset(images: np.ndarray, info: Optional[ModelInfo] = None) -> Iterator:
    """Calibration samples fed as the device feeds them (edge.models.preprocess.normalize)."""
    info = info or _raw_pixels_info(int(images.shape[1]))

    def gen():
        for image in images:
            yield [normalize(image[None], info).astype(np.float32)]

    return gen


def to_tflite(keras_model, variant: str = "int8", representative_images: Optional[np.ndarray] = None,
              info: Optional[ModelInfo] = None) -> bytes:
    """TFLite flatbuffer of `keras_model` in one of EXPORTERS' variants."""
    import tensorflow as tf

    if variant not in EXPORTERS:
        raise ModelError(f"unknown export variant {variant!r} (choose from {', '.join(EXPORTERS)})")
    opts = EXPORTERS[variant]
    converter = tf.lite.TFLiteConverter.from_keras_model(export_model(keras_model))
    if opts["optimize"]:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if opts["fp16"]:
        converter.target_spec.supported_types = [tf.float16]
    if opts["int8"]:
        if representative_images is None or len(representative_images) == 0:
            raise ModelError(f"{variant} conversion needs representative images for calibration")
        converter.representative_dataset = representative_dataset(np.asarray(representative_images), info)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_type = tf.uint8 if opts.get("io") == "uint8" else tf.int8
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    chatter = io.StringIO()
    try:
        # The converter prints its saved-model listing to stdout; keep it for debug logs only.
        with contextlib.redirect_stdout(chatter), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "statistics for quantized inputs": expected, calibration sets them
            return converter.convert()
    except Exception as exc:  # the converter's errors are long MLIR dumps; keep the first line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"TFLite conversion ({variant}) failed: {first[:300]}") from None
    finally:
        log.debug("converter output:\n%s", chatter.getvalue())


def to_int8_tflite(keras_model, representative_images: np.ndarray, info: Optional[ModelInfo] = None) -> bytes:
    """Full-integer TFLite (int8 weights, activations, input and output), batch of 1."""
    return to_tflite(keras_model, "int8", representative_images, info)


def calibration_sample(images: np.ndarray, n: int = DEFAULT_CALIBRATION, seed: int = 0) -> np.ndarray:
    """A seeded random subset of at most `n` patches for calibration."""
    if len(images) <= n:
        return images
    index = np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))
    return images[index]
