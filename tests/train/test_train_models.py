"""Every zoo model builds, trains one step at a small size, and says no to bad names."""
import numpy as np
import pytest

from edge.errors import ConfigError
from train.models import build_model

pytestmark = pytest.mark.tf


@pytest.mark.parametrize("name", ["small_cnn", "small_cnn_lean"])  # the whole zoo: test_train_zoo.py
def test_small_classifier_trains_one_step(name):
    model = build_model(name, input_size=48, width=0.25)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 3)).astype(np.float32)  # raw 0-255
    y = np.array([0, 1, 0, 1], np.float32)
    loss = model.train_on_batch(x, y)
    assert np.isfinite(float(np.ravel(loss)[0]))
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (4, 1)
    assert np.all((probs >= 0) & (probs <= 1))
    assert model.layers[1].name == "rescale"  # the model rescales raw pixels itself
    assert model.name == name


def test_lean_model_is_small_at_full_size():
    model = build_model("small_cnn_lean")
    assert model.input_shape == (None, 227, 227, 3)
    assert model.count_params() < 300_000


def test_unknown_model_and_option_suggest_the_right_name():
    with pytest.raises(ConfigError, match="did you mean 'small_cnn_lean'"):
        build_model("small_cnn_laen")
    with pytest.raises(ConfigError, match="did you mean 'width'"):
        build_model("small_cnn", widht=0.5)
