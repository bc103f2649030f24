"""A tiny real segmentation bundle for tests: a hand-weighted Keras graph (a pixel darker than its
neighbourhood is crack) converted to int8 TFLite and run by the real LiteRT interpreter.

It is no trained model; it only exists so the cascade, resizing, dequantisation and stitching are
exercised end to end with a real .tflite before (and besides) the shipped segmenter.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def build_dark_segmenter(folder, size: int = 64, tile: int = 227, contrast: float = 30.0) -> Path:
    import keras

    from convert.tflite import to_tflite
    from edge.models.bundle import sha256_of
    from edge.sim import make_patch

    inp = keras.Input((size, size, 3))
    grey = keras.layers.Conv2D(1, 1, use_bias=False, name="grey")(inp)
    local = keras.layers.AveragePooling2D(9, strides=1, padding="same")(grey)
    darker = keras.layers.Subtract()([local, grey])
    prob = keras.layers.Conv2D(1, 1, activation="sigmoid", name="prob")(darker)
    model = keras.Model(inp, prob)
    model.get_layer("grey").set_weights([np.full((1, 1, 3, 1), 1 / 3, np.float32)])
    k = 0.5
    model.get_layer("prob").set_weights([np.full((1, 1, 1, 1), k, np.float32), np.array([-k * contrast], np.float32)])

    import cv2

    calib = np.stack([cv2.resize(make_patch(tile, crack=bool(i % 2), seed=i)[0], (size, size),
                                 interpolation=cv2.INTER_AREA) for i in range(16)])
    flat = to_tflite(model, "int8", calib)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.tflite").write_bytes(flat)
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(folder / "model.tflite"))
    i, o = interp.get_input_details()[0], interp.get_output_details()[0]
    meta = {
        "name": "dark_pixels_test", "task": "segmentation", "architecture": "hand-weighted", "file": "model.tflite",
        "sha256": sha256_of(folder / "model.tflite"), "color_order": "RGB",
        "input": {"shape": [1, size, size, 3], "dtype": "int8", "scale": float(i["quantization"][0]),
                  "zero_point": int(i["quantization"][1])},
        "output": {"shape": [1, size, size, 1], "dtype": "int8", "scale": float(o["quantization"][0]),
                   "zero_point": int(o["quantization"][1])},
        "normalization": {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
        "labels": ["background", "crack"], "threshold": 0.5, "tile": {"size": tile, "stride": tile},
    }
    (folder / "model.json").write_text(json.dumps(meta, indent=2))
    return folder
