"""Segmentation models of the zoo: `build_*` functions that only assemble the graph.

Every segmenter takes raw 0-255 RGB floats (rescaled inside, so model.json normalization
stays mean 0 / std 1) of any size divisible by 32, and outputs (H, W, 1) per-pixel crack
probabilities (sigmoid). Decoders upsample with UpSampling2D + convolutions, not transposed
convolutions: every layer then maps to an int8 TFLite kernel and quantizes without checkerboards.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

from edge.errors import ConfigError

# Encoder skip layers by backbone, deepest first (as in segmentation_models' tables),
# plus the encoder's last layer used as the decoder's input.
SKIPS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "mobilenet_v2": ("block_16_project_BN",
                     ("block_13_expand_relu", "block_6_expand_relu", "block_3_expand_relu", "block_1_expand_relu")),
}


def _filters(n: float, width: float) -> int:
    return max(4, int(round(n * width)))


def check_weights(weights: str) -> Optional[str]:
    """'none' -> None (random init), 'imagenet', or a path to a local weights file."""
    from pathlib import Path

    if weights in (None, "", "none"):
        return None
    if weights == "imagenet":
        return "imagenet"
    if not Path(weights).is_file():
        raise ConfigError(f"weights: {weights!r} is neither none, imagenet nor an existing weights file")
    return str(weights)


def _load_local(model, path: Optional[str]) -> None:
    if path and path != "imagenet":
        model.load_weights(path, skip_mismatch=True)


def _conv_bn_relu(x, filters: int, name: str, separable: bool = False, kernel: int = 3):
    from keras import layers

    conv = layers.SeparableConv2D if separable else layers.Conv2D
    x = conv(filters, kernel, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _fast_bn(model, momentum: float = 0.9) -> None:
    """Keras' MobileNetV2 keeps BatchNorm moving averages with momentum 0.999, which need
    thousands of steps to forget their start; a short CPU run has a few hundred per source."""
    from keras import layers

    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = momentum


def _head(x, name: str = "mask"):
    from keras import layers

    return layers.Conv2D(1, 1, activation="sigmoid", name=name)(x)


def _inputs(input_size: Optional[int]):
    import keras

    size = input_size or None
    return keras.Input((size, size, 3), name="image")


def mobilenet_unet(
    input_size: Optional[int] = 224,
    width: float = 0.35,
    decoder: Sequence[int] = (96, 64, 32, 24, 16),
    weights: str = "none",
):
    """U-Net with a MobileNetV2 encoder (`width` = MobileNetV2 alpha) and a light decoder of
    bilinear UpSampling2D, skip concatenation and two separable Conv-BN-ReLU per stage; a
    full-resolution stem conv gives the last stage the 1-2 px detail thin cracks need."""
    import keras
    from keras import layers

    weights = check_weights(weights)
    inputs = _inputs(input_size)
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)  # MobileNetV2 expects [-1, 1]
    stem = _conv_bn_relu(x, 8, "stem")
    base = keras.applications.MobileNetV2(
        input_tensor=x, alpha=width, include_top=False,
        weights="imagenet" if weights == "imagenet" else None,
    )
    _load_local(base, weights)
    _fast_bn(base)
    last, skips = SKIPS["mobilenet_v2"]
    y = base.get_layer(last).output
    for i, (skip, f) in enumerate(zip(list(skips) + [None], decoder)):
        y = layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{i + 1}_up")(y)
        s = base.get_layer(skip).output if skip else stem
        y = layers.Concatenate(name=f"dec{i + 1}_cat")([y, s])
        y = _conv_bn_relu(y, f, f"dec{i + 1}a", separable=True)
        y = _conv_bn_relu(y, f, f"dec{i + 1}b", separable=True)
    return keras.Model(inputs, _head(y), name="mobilenet_unet")


def unet(input_size: Optional[int] = 224, width: float = 0.25, depth: int = 4, base_filters: int = 64):
    """The original U-Net (Ronneberger et al.): Conv-Conv then max pooling per level, the
    mirror with upsampling and skip concatenation; `width` scales every filter count."""
    import keras
    from keras import layers

    inputs = _inputs(input_size)
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    skips = []
    for level in range(depth):
        f = _filters(base_filters * 2 ** level, width)
        x = _conv_bn_relu(x, f, f"enc{level + 1}a")
        x = _conv_bn_relu(x, f, f"enc{level + 1}b")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level + 1}_pool")(x)
    f = _filters(base_filters * 2 ** depth, width)
    x = _conv_bn_relu(x, f, "bridge_a")
    x = _conv_bn_relu(x, f, "bridge_b")
    for level in reversed(range(depth)):
        f = _filters(base_filters * 2 ** level, width)
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{level + 1}_up")(x)
        x = layers.Concatenate(name=f"dec{level + 1}_cat")([x, skips[level]])
        x = _conv_bn_relu(x, f, f"dec{level + 1}a")
        x = _conv_bn_relu(x, f, f"dec{level + 1}b")
    return keras.Model(inputs, _head(x), name="unet")


def fpn(input_size: Optional[int] = 224, width: float = 0.35, pyramid: int = 64, segmentation: int = 32,
        weights: str = "none"):
    """Feature Pyramid Network (Lin et al.; the segmentation head of Kirillov et al.) on a
    MobileNetV2 encoder: 1x1 lateral convs, top-down upsampling and addition, each level
    brought to 1/4 resolution, summed, then upsampled to the input size."""
    import keras
    from keras import layers

    weights = check_weights(weights)
    inputs = _inputs(input_size)
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)
    base = keras.applications.MobileNetV2(input_tensor=x, alpha=width, include_top=False,
                                          weights="imagenet" if weights == "imagenet" else None)
    _load_local(base, weights)
    _fast_bn(base)
    last, skips = SKIPS["mobilenet_v2"]
    feats = [base.get_layer(last).output] + [base.get_layer(s).output for s in skips[:3]]  # 1/32 .. 1/4
    p = layers.Conv2D(pyramid, 1, name="lateral1")(feats[0])
    outs = [p]
    for i, f in enumerate(feats[1:], start=2):
        p = layers.UpSampling2D(2, name=f"top_down{i}")(p)
        p = layers.Add(name=f"merge{i}")([p, layers.Conv2D(pyramid, 1, name=f"lateral{i}")(f)])
        outs.append(p)
    merged = []
    for i, p in enumerate(outs):  # outs[i] is at 1/(32 / 2^i); bring all to 1/4
        q = _conv_bn_relu(p, segmentation, f"seg{i + 1}")
        factor = 2 ** (len(outs) - 1 - i)
        if factor > 1:
            q = layers.UpSampling2D(factor, interpolation="bilinear", name=f"seg{i + 1}_up")(q)
        merged.append(q)
    y = layers.Add(name="pyramid_sum")(merged)
    y = layers.UpSampling2D(4, interpolation="bilinear", name="to_input")(y)
    y = _conv_bn_relu(y, max(8, segmentation // 2), "refine")
    return keras.Model(inputs, _head(y), name="fpn")


def deepcrack(input_size: Optional[int] = 224, width: float = 0.25, blocks: Sequence[int] = (2, 2, 3, 3, 3)):
    """DeepCrack (Zou et al. 2019): a SegNet-like encoder (VGG-style blocks with max pooling)
    and a mirrored decoder; at every scale the encoder and decoder features are concatenated
    into a 1-channel side output, upsampled to the input size, and the side outputs fused by
    a 1x1 conv. The model outputs the fused map (training on it trains every side path).
    Max-unpooling by indices is replaced by upsampling, which TFLite int8 supports."""
    import keras
    from keras import layers

    inputs = _inputs(input_size)
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    base = (64, 128, 256, 512, 512)
    enc = []
    for level, n in enumerate(blocks):
        f = _filters(base[level], width)
        for j in range(n):
            x = _conv_bn_relu(x, f, f"enc{level + 1}_{j + 1}")
        enc.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level + 1}_pool")(x)
    sides = []
    for level in reversed(range(len(blocks))):
        f = _filters(base[level], width)
        x = layers.UpSampling2D(2, name=f"dec{level + 1}_up")(x)
        for j in range(blocks[level]):
            x = _conv_bn_relu(x, f, f"dec{level + 1}_{j + 1}")
        side = layers.Concatenate(name=f"side{level + 1}_cat")([enc[level], x])
        side = layers.Conv2D(1, 1, name=f"side{level + 1}")(side)
        if level:
            side = layers.UpSampling2D(2 ** level, interpolation="bilinear", name=f"side{level + 1}_up")(side)
        sides.append(side)
    fused = layers.Concatenate(name="sides")(sides)
    out = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(fused)
    return keras.Model(inputs, out, name="deepcrack")
