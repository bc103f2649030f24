"""The machine's practical int8 ceiling: one large 1x1 convolution through LiteRT, in MAC/s.

A 1x1 convolution over many pixels and channels is the best case for the int8 kernels (no
halo, long dot products), so what it reaches is what a real model can hope for at most.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from edge.models.interpreter import load_interpreter

from .macs import count_macs
from .timing import time_call

SHAPE = (56, 56, 256)  # pixels x channels in; 256 filters out: 205 M MACs per run


def ceiling_model(path: Path) -> Path:
    """Write the int8 1x1-conv model to `path` (needs TensorFlow, like the rest of the bench)."""
    import keras

    inputs = keras.Input(batch_shape=(1,) + SHAPE)
    return write_int8(keras.Model(inputs, keras.layers.Conv2D(SHAPE[-1], 1, use_bias=False)(inputs)), path)


def write_int8(model, path: Path, calibration_batches: int = 8) -> Path:
    """Convert a Keras model of fixed input shape to a full-int8 .tflite at `path`, calibrated on
    random inputs (the time of an int8 kernel does not depend on its values)."""
    import tensorflow as tf

    shape = tuple(model.inputs[0].shape)
    rng = np.random.default_rng(0)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rng.normal(size=shape).astype(np.float32)]
                                                for _ in range(calibration_batches))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the converter lists the saved model and warns about input statistics
        path.write_bytes(converter.convert())
    return path


def measure_ceiling(threads: Sequence[int] = (1, 2)) -> Dict[str, dict]:
    """{"<n>_threads": {"gmacs": ..., "median_ms": ...}} plus the MACs of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        path = ceiling_model(Path(tmp) / "conv1x1_int8.tflite")
        result = {}
        for n in threads:
            interp = load_interpreter(path, n)
            macs = count_macs(interp)
            t = time_call(interp.invoke, repeat=30, budget_s=5)
            result[f"{n}_threads"] = {"gmacs": macs / t["median_s"] / 1e9, "median_ms": 1000 * t["median_s"]}
        result["macs"] = macs
    return result
