"""The seeds' way of running a model on a frame: a Keras float model.predict call per 227 px patch.

Speed does not depend on the weights, so the architectures are built untrained: the cAInvas
CNN (train.models.small_cnn) and the blog's ResNet50 base with its Dense 128 head.
"""
from __future__ import annotations

import time
from typing import Dict

import numpy as np


def resnet50_head(input_size: int = 227):
    import keras

    base = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(input_size, input_size, 3))
    base.trainable = False
    x = keras.layers.GlobalAveragePooling2D()(base.output)
    x = keras.layers.Dense(128, activation="relu")(x)
    return keras.Model(base.input, keras.layers.Dense(2, activation="softmax")(x), name="resnet50_head")


def per_patch_seconds(model, tiles: np.ndarray, patches: int) -> float:
    """Mean seconds of one model.predict(patch) call, over `patches` calls after one warm-up call."""
    x = tiles.astype(np.float32)
    model.predict(x[:1], verbose=0)
    t0 = time.perf_counter()
    for i in range(patches):
        model.predict(x[i % len(x)][None], verbose=0)
    return (time.perf_counter() - t0) / patches


def measure_seed_loops(tiles: np.ndarray, patches: Dict[str, int]) -> Dict[str, dict]:
    """Seconds per frame of `len(tiles)` tiles for each seed model, from `patches[name]` timed calls."""
    from train.models import small_cnn

    builders = {"cainvas_cnn": small_cnn, "resnet50_head": resnet50_head}
    result = {}
    for name, build in builders.items():
        if patches.get(name, 0) <= 0:
            continue
        per_patch = per_patch_seconds(build(input_size=tiles.shape[1]), tiles, patches[name])
        result[name] = {"patch_ms": 1000 * per_patch, "timed_patches": patches[name],
                        "frame_s": per_patch * len(tiles), "fps": 1.0 / (per_patch * len(tiles))}
    return result
