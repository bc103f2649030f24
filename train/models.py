"""The model zoo: `build_model(name, ...)` assembles an uncompiled Keras graph, nothing more.

Every model takes raw 0-255 RGB floats and rescales inside (`Rescaling(1/255)` first), so
model.json normalization is mean 0 / std 1 and the int8 input scale comes out near 1.
Classifiers output one sigmoid unit, the probability of a crack; segmenters (segmodels.py)
one sigmoid per pixel.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Callable, Dict, Optional, Sequence

from edge.errors import ConfigError


def _filters(n: float, width: float) -> int:
    # At least 4 filters so a tiny test model still has something to learn with.
    return max(4, int(round(n * width)))


def small_cnn(
    input_size: int = 227,
    width: float = 1.0,
    filters: Sequence[int] = (16, 32),
    dense: Sequence[int] = (64, 32),
    pool: int = 2,
    dropout: float = 0.3,
):
    """The cAInvas design: two Conv-Conv-MaxPool blocks, Flatten, Dense-Dense-Dense(sigmoid).
    Heavy in its dense layers (millions of weights at 227 px); the reference, not the edge model."""
    import keras
    from keras import layers

    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for i, f in enumerate(filters):
        for j in range(2):
            x = layers.Conv2D(_filters(f, width), 3, activation="relu", name=f"block{i + 1}_conv{j + 1}")(x)
        x = layers.MaxPooling2D(pool, name=f"block{i + 1}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(dense):
        x = layers.Dense(_filters(units, width), activation="relu", name=f"dense{i + 1}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="crack")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def small_cnn_lean(
    input_size: int = 227,
    width: float = 1.0,
    filters: Sequence[int] = (24, 48, 96, 128),
    stem: int = 4,
    dropout: float = 0.2,
):
    """The edge variant: four strided Conv-BatchNorm-ReLU blocks, global average pooling and one
    sigmoid unit. The first block is a `stem` x `stem` conv with stride `stem` (every pixel is
    still seen, so 1-px cracks survive), the others 3x3 with stride 2: ~0.16 M weights and
    ~30 M multiply-adds per 227 px tile, a 60 px receptive field, all in int8 kernels once
    BatchNorm is folded into the convs."""
    import keras
    from keras import layers

    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for i, f in enumerate(filters):
        kernel, stride = (stem, stem) if i == 0 else (3, 2)
        x = layers.Conv2D(
            _filters(f, width), kernel, strides=stride, padding="same", use_bias=False, name=f"block{i + 1}_conv"
        )(x)
        # momentum 0.9: the moving statistics settle within an epoch even on tiny data sets
        x = layers.BatchNormalization(momentum=0.9, name=f"block{i + 1}_bn")(x)
        x = layers.ReLU(name=f"block{i + 1}_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="crack")(x)
    return keras.Model(inputs, outputs, name="small_cnn_lean")


def _caffe_input(x, name: str = "caffe_preprocess"):
    """ResNet50's ImageNet preprocessing (RGB -> BGR, minus the ImageNet mean) as a frozen 1x1
    conv: serialisable, and it folds into int8 like any conv."""
    import numpy as np
    from keras import layers

    conv = layers.Conv2D(3, 1, name=name, trainable=False)
    y = conv(x)
    swap = np.zeros((1, 1, 3, 3), np.float32)
    for i in range(3):
        swap[0, 0, i, 2 - i] = 1.0
    conv.set_weights([swap, -np.asarray([103.939, 116.779, 123.68], np.float32)])
    return y


def _pretrained_classifier(name: str, app, input_size: int, weights: str, dense: int, dropout: float,
                           freeze_base: bool, width: Optional[float], preprocess):
    """The blog's transfer-learning classifier: an application base without its top, global
    average pooling, Dense(`dense`, relu), dropout, one sigmoid unit. The base is frozen when
    it starts from trained weights (`freeze_base`); from random weights it must learn."""
    import keras
    from keras import layers

    from .segmodels import check_weights

    weights = check_weights(weights)
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = preprocess(inputs)
    kw = {"alpha": width} if width is not None else {}
    base = app(input_tensor=x, include_top=False, weights="imagenet" if weights == "imagenet" else None, **kw)
    if weights and weights != "imagenet":
        base.load_weights(weights, skip_mismatch=True)
    base.trainable = not (weights and freeze_base)
    y = layers.GlobalAveragePooling2D(name="pool")(base.output)
    y = layers.Dense(dense, activation="relu", name="dense")(y)
    if dropout:
        y = layers.Dropout(dropout, name="dropout")(y)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid", name="crack")(y), name=name)


def mobilenet_v2(input_size: int = 227, width: float = 1.0, weights: str = "none", dense: int = 128,
                 dropout: float = 0.2, freeze_base: bool = True):
    """MobileNetV2 (alpha = `width`) + Dense 128 head."""
    import keras
    from keras import layers

    return _pretrained_classifier(
        "mobilenet_v2", keras.applications.MobileNetV2, input_size, weights, dense, dropout, freeze_base, width,
        lambda t: layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(t))


def resnet50(input_size: int = 227, width: float = 1.0, weights: str = "none", dense: int = 128,
             dropout: float = 0.2, freeze_base: bool = True):
    """ResNet50 + Dense 128 head, as in the ResNet50 blog (98.4 % on the Özgenel patches).
    `width` is accepted for a uniform config but ResNet50 has no width multiplier."""
    import keras

    return _pretrained_classifier("resnet50", keras.applications.ResNet50, input_size, weights, dense, dropout,
                                  freeze_base, None, _caffe_input)


def _segmenters() -> Dict[str, Callable]:
    from . import segmodels

    return {"unet": segmodels.unet, "mobilenet_unet": segmodels.mobilenet_unet, "fpn": segmodels.fpn,
            "deepcrack": segmodels.deepcrack}


CLASSIFIERS: Dict[str, Callable] = {
    "small_cnn": small_cnn,
    "small_cnn_lean": small_cnn_lean,
    "mobilenet_v2": mobilenet_v2,
    "resnet50": resnet50,
}
SEGMENTERS = ("unet", "mobilenet_unet", "fpn", "deepcrack")
ZOO: Dict[str, Callable] = {**CLASSIFIERS, **_segmenters()}


def task_of(name: str) -> str:
    """'segmentation' for a per-pixel model, else 'classification'."""
    return "segmentation" if name in SEGMENTERS else "classification"


def suggest(word: str, choices) -> str:
    """' (did you mean X?)' for a near miss, else the list of choices."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (choose from {', '.join(sorted(choices))})"


def build_model(name: str, input_size: int = 227, **kw):
    """Assemble zoo model `name` for square `input_size` RGB patches; options go to its builder."""
    if name not in ZOO:
        raise ConfigError(f"unknown model {name!r}" + suggest(name, ZOO))
    builder = ZOO[name]
    params = inspect.signature(builder).parameters
    for key in kw:
        if key not in params:
            raise ConfigError(
                f"model {name} has no option {key!r}" + suggest(key, [p for p in params if p != "input_size"])
            )
    return builder(input_size=input_size, **kw)
