"""Every zoo model builds at a small input and takes one training step that changes its weights."""
import numpy as np
import pytest

from edge.errors import ConfigError
from train.models import SEGMENTERS, ZOO, build_model, task_of

pytestmark = pytest.mark.tf

SMALL = {
    "small_cnn": {"width": 0.25},
    "small_cnn_lean": {"width": 0.25},
    "mobilenet_v2": {"width": 0.35},
    "resnet50": {},
    "unet": {"width": 0.0625},
    "mobilenet_unet": {"width": 0.35},
    "fpn": {"width": 0.35},
    "deepcrack": {"width": 0.0625},
}


def test_the_zoo_has_every_model_of_the_issue():
    assert set(ZOO) == set(SMALL)
    assert {n for n in ZOO if task_of(n) == "segmentation"} == set(SEGMENTERS)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "resnet50" else n
                                  for n in sorted(SMALL)])
def test_builds_and_trains_one_step(name):
    import keras

    from train.losses import get_loss

    keras.utils.set_random_seed(0)
    size = 32
    model = build_model(name, input_size=size, **SMALL[name])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    seg = task_of(name) == "segmentation"
    y = (rng.random((2, size, size, 1)) > 0.9).astype(np.float32) if seg else np.array([[1.0], [0.0]], np.float32)
    assert model.output_shape[1:] == ((size, size, 1) if seg else (1,))
    # eager: tracing these graphs takes far longer than the one step itself
    model.compile(optimizer=keras.optimizers.SGD(0.001), loss=get_loss("bce_dice" if seg else "bce"), run_eagerly=True)
    before = [w.copy() for w in model.get_weights()]
    loss = float(model.train_on_batch(x, y))
    assert np.isfinite(loss) and loss > 0
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    out = np.asarray(model(x, training=True))  # batch statistics: the moving ones have seen one step
    assert np.all((out >= 0) & (out <= 1))


def test_pretrained_base_is_frozen_only_with_weights(tmp_path):
    scratch = build_model("mobilenet_v2", input_size=32, width=0.35)
    assert all(layer.trainable for layer in scratch.layers if layer.name.startswith("block_1_"))
    weights = tmp_path / "base.weights.h5"
    scratch.save_weights(weights)
    frozen = build_model("mobilenet_v2", input_size=32, width=0.35, weights=str(weights))
    base_layers = [layer for layer in frozen.layers if layer.name.startswith("block_1_")]
    assert base_layers and not any(layer.trainable for layer in base_layers)
    assert frozen.get_layer("dense").trainable


def test_bad_names_and_weights_say_what_to_do():
    with pytest.raises(ConfigError, match="did you mean 'mobilenet_unet'"):
        build_model("mobilenet_unte")
    with pytest.raises(ConfigError, match="neither none, imagenet nor an existing weights file"):
        build_model("mobilenet_unet", input_size=32, weights="/nonexistent.h5")
