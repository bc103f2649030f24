"""TFLite export: batch-1 rebuild, full-integer int8 tensors, the drop check and the model card."""
import numpy as np
import pytest

from edge.errors import ModelError
from convert.classifier_bundle import check_drop
from convert.model_card import source_summary
from convert.tflite import EXPORTERS, calibration_sample, export_model, to_int8_tflite, to_tflite
from train.models import build_model


@pytest.fixture(scope="module")
def tiny_model():
    return build_model("small_cnn_lean", input_size=32, width=0.25)


def _images(n, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.tf
def test_export_model_has_batch_one_and_the_same_weights(tiny_model):
    export = export_model(tiny_model)
    assert export.input_shape == (1, 32, 32, 3)
    x = _images(1).astype(np.float32)
    np.testing.assert_allclose(np.asarray(export(x)), np.asarray(tiny_model(x, training=False)), rtol=1e-5, atol=1e-6)


@pytest.mark.tf
def test_int8_tflite_is_full_integer_with_unit_input_scale(tiny_model, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    path = tmp_path / "m.tflite"
    path.write_bytes(to_int8_tflite(tiny_model, _images(40)))
    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    assert list(inp["shape"]) == [1, 32, 32, 3]
    scale, zero_point = inp["quantization"]
    # raw 0-255 pixels in, the model rescales itself: scale ~1, zero point -128
    assert scale == pytest.approx(1.0, abs=0.05) and zero_point == -128
    # full integer: no float tensor anywhere in the graph
    assert not [t["name"] for t in interp.get_tensor_details() if t["dtype"] == np.float32]


@pytest.mark.tf
def test_int8_needs_calibration_and_variants_are_known(tiny_model):
    with pytest.raises(ModelError, match="representative"):
        to_int8_tflite(tiny_model, np.zeros((0, 32, 32, 3), np.uint8))
    with pytest.raises(ModelError, match="unknown export variant"):
        to_tflite(tiny_model, "int4")
    assert set(EXPORTERS) == {"fp32", "fp16", "dynamic", "int8", "uint8"}


def test_calibration_sample_is_seeded_and_bounded():
    images = _images(50)
    a, b = calibration_sample(images, 10, seed=1), calibration_sample(images, 10, seed=1)
    assert len(a) == 10 and np.array_equal(a, b)
    assert len(calibration_sample(images, 100)) == 50


def test_drop_check_refuses_with_the_numbers():
    keras_m = {"accuracy": 0.95, "n": 200}
    assert check_drop(keras_m, {"accuracy": 0.947, "n": 200}, 0.99, 0.5) == pytest.approx(-0.3)
    with pytest.raises(ModelError, match=r"int8 accuracy 0.9400 is 1.00 points below.*0.9500.*200 held-out"):
        check_drop(keras_m, {"accuracy": 0.94, "n": 200}, 0.97, 0.5)


def test_model_card_quotes_source_md(tmp_path):
    folder = tmp_path / "set" / "train"
    folder.mkdir(parents=True)
    (tmp_path / "set" / "SOURCE.md").write_text(
        "# Some cracks\n\n- License: CC BY 4.0\n- Citation: Someone (2020)\n\n## Contents\nnot quoted\n"
    )
    text = source_summary(str(folder))
    assert "**Some cracks**" in text and "CC BY 4.0" in text and "Someone (2020)" in text
    assert "not quoted" not in text
    assert "No SOURCE.md" in source_summary(str(tmp_path / "elsewhere"))
