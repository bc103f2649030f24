"""End to end on a tiny MobileNet-U-Net-like int8 segmenter: Keras model -> int8 TFLite -> C ->
library, its masks compared with LiteRT on 1000 patches and every operator audited."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from convert.ccode.compile import compile_model  # noqa: E402
from convert.ccode.verify import audit_operators, compare, synthetic_patches  # noqa: E402
from edge.models.native import NativeModel  # noqa: E402

pytestmark = pytest.mark.tf

SIZE = 32


def tiny_mobilenet_unet(size: int = SIZE):
    """The layer kinds of a MobileNetV2 U-Net at toy size: ZeroPadding + strided conv, inverted
    residual blocks (expand, depthwise, project, Add), ReLU6, BatchNorm (folded), bilinear upsampling,
    skip concatenation, a separable conv, padding before pooling, sigmoid head."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)

    def bn(x):
        return layers.BatchNormalization()(x)

    inputs = keras.Input((size, size, 3), batch_size=1)
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = layers.ReLU(6.0)(bn(layers.Conv2D(8, 3, strides=2, padding="valid", use_bias=False)(x)))
    skip = x  # size / 2
    y = layers.ReLU(6.0)(bn(layers.Conv2D(24, 1, use_bias=False)(x)))
    y = layers.ReLU(6.0)(bn(layers.DepthwiseConv2D(3, padding="same", use_bias=False)(y)))
    x = layers.Add()([x, bn(layers.Conv2D(8, 1, use_bias=False)(y))])
    y = layers.ReLU(6.0)(bn(layers.Conv2D(24, 1, use_bias=False)(x)))
    y = layers.ZeroPadding2D(((0, 1), (0, 1)))(y)
    y = layers.ReLU(6.0)(bn(layers.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False)(y)))
    x = bn(layers.Conv2D(16, 1, use_bias=False)(y))  # size / 4
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.Concatenate()([x, skip])
    x = layers.ReLU()(bn(layers.SeparableConv2D(16, 3, padding="same", use_bias=False)(x)))
    x = layers.ZeroPadding2D(1)(x)
    x = layers.MaxPooling2D(3, strides=1)(x)  # padding a max pool cannot absorb: a real PAD operator
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    for layer in model.layers:  # non-trivial BatchNorm statistics, as a trained model has
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2.0, var.shape)])
    return model


@pytest.fixture(scope="module")
def tflite_model(tmp_path_factory):
    from convert.tflite import to_tflite
    from edge.sim import make_patches

    images = make_patches(24, size=SIZE, seed=1)[0]
    path = tmp_path_factory.mktemp("seg") / "tiny_unet.tflite"
    path.write_bytes(to_tflite(tiny_mobilenet_unet(), "int8", images))
    return path


@pytest.fixture(scope="module")
def compiled(tflite_model):
    return compile_model(tflite_model, tflite_model.parent / "tiny_unet_c", audit=True)


def test_graph_has_the_segmenter_operator_kinds(compiled):
    kinds = set(compiled.code.operators)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "CONCATENATION", "RESIZE_BILINEAR",
            "PAD", "MAX_POOL_2D", "LOGISTIC"} <= kinds, kinds
    assert compiled.info.task == "segmentation" and compiled.build.warnings == ()


@pytest.mark.slow
def test_masks_agree_with_litert_on_1000_patches(compiled):
    images = synthetic_patches(1000, SIZE, seed=2)
    model = NativeModel(compiled.build.library, compiled.info)
    found = compare(compiled.source.tflite, model, compiled.info, images, ["reference", "builtin"])
    ref = found["reference"]  # TFLite's int8 reference kernels: the semantics the C implements
    assert ref.patches == 1000 and ref.values == 1000 * SIZE * SIZE
    assert ref.equal_fraction >= 0.999 and ref.max_step_difference <= 1
    assert ref.decision_mismatches == 0 and ref.pixel_decision_mismatches == 0
    # LiteRT's optimized kernels round some requantizations differently from its own reference
    # kernels (measured: about 0.2 % of mask values here, never more than one step).
    opt = found["builtin"]
    assert opt.max_step_difference <= 1 and opt.decision_mismatches == 0 and opt.equal_fraction >= 0.99


def test_every_operator_matches_litert(compiled):
    images = synthetic_patches(5, SIZE, seed=4)
    audit = audit_operators(compiled.source.tflite, compiled.build.library, compiled.source.graph,
                            compiled.code.plan, compiled.info, images)
    assert len(audit) == len(compiled.source.graph.operators)
    for row in audit:
        assert row["equal_fraction"] >= 0.999 and row["max_step_difference"] <= 1, row


def test_native_segmenter_matches_the_litert_segmenter(compiled, tmp_path):
    from edge.models.segmenter import Segmenter
    from edge.models.bundle import load_bundle, write_model_json

    litert_folder = tmp_path / "litert"
    litert_folder.mkdir()
    shutil.copy(compiled.source.tflite, litert_folder / compiled.source.tflite.name)
    write_model_json(litert_folder, compiled.source.info)
    tiles = synthetic_patches(3, SIZE, seed=6)
    native = Segmenter(load_bundle(compiled.folder), backend="native").segment(tiles)
    litert = Segmenter(load_bundle(litert_folder), backend="litert").segment(tiles)
    assert native.shape == litert.shape == (3, SIZE, SIZE)
    assert np.abs(native - litert).max() <= 2 * compiled.info.output.scale + 1e-6


def test_nearest_upsampling_compiles_and_matches(tmp_path):
    """Keras' nearest UpSampling2D lowers to RESHAPE + TILE, which LiteRT's reference kernels lack
    (TILE version 3): compared with LiteRT's own int8 kernels instead."""
    import keras
    from keras import layers

    from convert.tflite import to_tflite
    from edge.sim import make_patches

    keras.utils.set_random_seed(1)
    inputs = keras.Input((16, 16, 3), batch_size=1)
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(layers.Rescaling(1 / 255)(inputs))
    x = layers.UpSampling2D(2, interpolation="nearest")(x)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    images = make_patches(300, size=16, seed=3)[0]
    path = tmp_path / "nearest.tflite"
    path.write_bytes(to_tflite(keras.Model(inputs, outputs), "int8", images[:16]))
    result = compile_model(path, tmp_path / "nearest_c")
    assert "TILE" in result.code.operators
    model = NativeModel(result.build.library, result.info)
    a = compare(path, model, result.info, images, ["builtin"])["builtin"]
    assert a.equal_fraction >= 0.999 and a.max_step_difference <= 1 and a.decision_mismatches == 0


def test_dense_layers_round_like_litert(tmp_path):
    """FULLY_CONNECTED requantizes with one rounding (ruy), convolutions with two (gemmlowp): a model
    of dense layers, 3000 inputs, bit-identical to LiteRT's reference kernels."""
    import keras
    from keras import layers

    from convert.tflite import to_tflite

    keras.utils.set_random_seed(2)
    inputs = keras.Input((8, 8, 3), batch_size=1)
    x = layers.Flatten()(layers.Rescaling(1 / 255)(inputs))
    x = layers.Dense(32, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid")(layers.Dense(16)(x))
    images = np.random.default_rng(4).integers(0, 256, (3000, 8, 8, 3), dtype=np.uint8)
    path = tmp_path / "dense.tflite"
    path.write_bytes(to_tflite(keras.Model(inputs, outputs), "int8", images[:32]))
    result = compile_model(path, tmp_path / "dense_c")
    assert "FULLY_CONNECTED" in result.code.operators
    model = NativeModel(result.build.library, result.info)
    a = compare(path, model, result.info, images, ["reference"])["reference"]
    assert a.equal_fraction == 1.0 and a.decision_mismatches == 0


def test_a_float_model_is_refused_in_one_line(tmp_path):
    import keras
    from keras import layers

    from convert.ccode.cli import main
    from convert.tflite import to_tflite
    from edge.errors import ModelError

    inputs = keras.Input((8, 8, 3), batch_size=1)
    outputs = layers.Dense(1, activation="sigmoid")(layers.Flatten()(inputs))
    path = tmp_path / "float.tflite"
    path.write_bytes(to_tflite(keras.Model(inputs, outputs), "fp32"))
    with pytest.raises(ModelError, match="input is float32; only full-int8 models compile"):
        compile_model(path, tmp_path / "float_c")
    assert main(["--model", str(path), "--out", str(tmp_path / "float_c2")]) == 2
