"""End to end: a tiny model trained on synthetic patches -> int8 bundle -> edge classifier."""
import json

import numpy as np
import pytest

from convert import cli as convert_cli
from convert.classifier_bundle import convert_run, write_bundle
from edge.models.bundle import load_bundle
from edge.models.classifier import Classifier
from edge.errors import ModelError
from edge.sim import make_patches, save_classification_folder
from train import cli as train_cli
from train.evaluate import predict_probs
from train.fit import prepare_data
from train.options import TINY

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def run(tiny_run):
    """The tiny recipe (seconds), trained once per session (tests/convert/conftest.py)."""
    return tiny_run


@pytest.fixture(scope="module")
def bundle_dir(run, tmp_path_factory):
    """Convert it through the CLI, on the run's own data and split. --max-drop 5: on the tiny
    model's 80 held-out patches one flipped decision is already 1.25 points."""
    out = tmp_path_factory.mktemp("models") / "crack_classifier"
    argv = ["--model", str(run.model_path), "--out", str(out), "--name", "tiny_crack", "--max-drop", "5",
            "--compare", "fp32", "--latency-threads", "1"]  # every variant: test_convert_variants.py
    assert convert_cli.main(argv) == 0
    return out


def test_bundle_files_and_model_json(bundle_dir, run):
    assert {p.name for p in bundle_dir.iterdir()} == {"model.tflite", "model.json", "MODEL_CARD.md", "report.json"}
    bundle = load_bundle(bundle_dir)  # checks the sha256 too
    info = bundle.info
    size = TINY["input_size"]
    assert info.name == "tiny_crack" and info.architecture == "small_cnn_lean" and info.task == "classification"
    assert info.input.shape == [1, size, size, 3] and info.input.dtype == "int8"
    assert info.input.scale == pytest.approx(1.0, abs=0.05) and info.input.zero_point == -128
    assert info.output.dtype == "int8" and info.labels == ["no_crack", "crack"]
    assert info.normalization.mean == [0, 0, 0] and info.normalization.std == [1, 1, 1]
    assert info.tile.size == size and info.tile.stride == size and info.threshold == 0.5
    assert {"keras", "int8", "keras/synthetic", "int8/synthetic"} <= set(info.metrics)
    assert info.metrics["int8"]["accuracy_delta_points"] >= -5
    assert info.training["run"] == "tiny" and info.training["data"][0]["name"] == "synthetic"
    assert info.created
    report = json.loads((bundle_dir / "report.json").read_text())
    assert [r["variant"] for r in report["variants"]] == ["keras", "fp32", "int8"]
    assert report["latency"]["threads"] == [1] and report["variants"][-1]["shipped"]
    card = (bundle_dir / "MODEL_CARD.md").read_text()
    assert "python -m convert --model" in card and "edge.sim" in card
    assert "| agreement with float | ms, 1 thread |" in card  # the variant table carries the latency


def test_edge_classifier_agrees_with_keras(bundle_dir, run):
    import keras

    model = keras.models.load_model(run.model_path)
    images, _, _ = make_patches(100, size=TINY["input_size"], seed=123)  # unseen patches
    keras_probs = predict_probs(model, images)
    edge_probs = Classifier(load_bundle(bundle_dir), threads=1).classify(images)
    assert edge_probs.shape == (100,)
    agree = np.mean((keras_probs >= 0.5) == (edge_probs >= 0.5))
    assert agree >= 0.95
    assert np.max(np.abs(keras_probs - edge_probs)) < 0.15


def test_evaluate_cli_on_bundle_and_bare_tflite(bundle_dir, tmp_path):
    folder = tmp_path / "holdout"
    save_classification_folder(folder, 10, size=TINY["input_size"], seed=5)
    for model in (bundle_dir, bundle_dir / "model.tflite"):
        out = tmp_path / "eval.json"
        assert train_cli.main(["evaluate", "--model", str(model), "--data", str(folder), "--json", str(out)]) == 0
        result = json.loads(out.read_text())
        assert {"n", "accuracy", "precision", "recall", "f1"} <= set(result) and result["n"] == 10
        assert result["variant"] == "int8"
    # a .tflite with no model.json beside it runs on the defaults
    bare = tmp_path / "bare.tflite"
    bare.write_bytes((bundle_dir / "model.tflite").read_bytes())
    assert train_cli.main(["evaluate", "--model", str(bare), "--data", str(folder)]) == 0


def test_write_bundle_refuses_a_large_int8_drop(run, tmp_path):
    _, train, val = prepare_data(run.config)
    with pytest.raises(ModelError, match="points below") as info:
        # a negative allowance makes any int8 model "too far" below: the refusal path, nothing written
        write_bundle(run.model_path, tmp_path / "b", train.images[:50], val, max_drop_points=-100.0)
    assert "bundle not written" in str(info.value)
    assert not (tmp_path / "b" / "model.tflite").exists()


def test_convert_run_library_path(run, tmp_path):
    """The one-call recipe: a run folder's best.keras -> bundle, on other synthetic data."""
    info = convert_run(run.model_path, tmp_path / "lib", synthetic=80, name="lib", max_drop_points=100)
    assert load_bundle(tmp_path / "lib").info.sha256 == info.sha256
    assert info.metrics["int8"]["n"] == 20  # 25 % of 80 held out


def test_convert_cli_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "best.keras"
    bad.write_bytes(b"\x00" * 10)
    assert convert_cli.main(["--model", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert convert_cli.main(["--model", str(tmp_path / "missing.keras"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err


def test_evaluate_refuses_a_bundle_whose_task_does_not_match_its_model(bundle_dir, tmp_path, capsys):
    seg = tmp_path / "seg_bundle"
    seg.mkdir()
    (seg / "model.tflite").write_bytes((bundle_dir / "model.tflite").read_bytes())
    meta = json.loads((bundle_dir / "model.json").read_text())
    meta["task"] = "segmentation"
    (seg / "model.json").write_text(json.dumps(meta))
    assert train_cli.main(["evaluate", "--model", str(seg), "--synthetic", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "segmentation" in err and "\n" not in err
