"""Config handling, a tiny training run through the CLI, and evaluate on its model."""
import csv
import json

import numpy as np
import pytest
import yaml

from edge.errors import ConfigError
from train import cli
from train.options import DEFAULTS_PATH, TINY, defaults, parse_set, resolve_config


def test_every_default_key_has_a_comment():
    for line in DEFAULTS_PATH.read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            assert "#" in line, f"no comment on: {line}"
    assert set(defaults()) >= set(TINY)


def test_config_typo_is_rejected_with_a_suggestion():
    with pytest.raises(ConfigError, match="unknown config key 'epoch'.*did you mean 'epochs'"):
        resolve_config(sets=["epoch=3"])
    with pytest.raises(ConfigError, match="did you mean 'learning_rate'"):
        resolve_config(overrides={"learning_rat": 0.1})


def test_config_values_are_typed_and_checked():
    assert parse_set("epochs=3") == {"epochs": 3}
    assert resolve_config(sets=["learning_rate=1e-3"])["learning_rate"] == 1e-3
    config = resolve_config(sets=["epochs=3", "augment=false", "width=1"])
    assert config["epochs"] == 3 and config["augment"] is False and config["width"] == 1.0
    with pytest.raises(ConfigError, match="epochs: expected an integer"):
        resolve_config(sets=["epochs=many"])
    with pytest.raises(ConfigError, match="lr_schedule"):
        resolve_config(sets=["lr_schedule=linear"])
    with pytest.raises(ConfigError, match="val_fraction"):
        resolve_config(sets=["val_fraction=1.5"])
    with pytest.raises(ConfigError, match="expected key=value"):
        resolve_config(sets=["epochs"])


@pytest.mark.tf
def test_config_file_and_cli_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "c.yaml"
    bad.write_text("epochs: 2\nbatchsize: 8\n")
    assert cli.main(["fit", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "did you mean 'batch_size'" in err
    assert cli.main(["fit", "--data", str(tmp_path / "missing")]) == 2
    assert "data folder not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny model trained through the CLI on synthetic patches (seconds)."""
    out = tmp_path_factory.mktemp("runs")
    argv = ["fit", "--out", str(out), "--name", "tiny", "--epochs", "2"]
    for key, value in TINY.items():
        if key != "epochs":
            argv += ["--set", f"{key}={value}"]
    assert cli.main(argv) == 0
    return out / "tiny"


@pytest.mark.tf
def test_fit_writes_the_run_folder(run_dir):
    for name in ("config.yaml", "best.keras", "history.csv", "curves.png", "metrics.json", "summary.txt"):
        assert (run_dir / name).is_file(), name
    checkpoints = sorted((run_dir / "checkpoints").glob("epoch*-val_loss*.keras"))
    assert checkpoints and checkpoints[0].name.startswith("epoch001-val_loss")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["input_size"] == TINY["input_size"] and config["epochs"] == 2
    with open(run_dir / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and "val_loss" in rows[0]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"n", "accuracy", "precision", "recall", "f1"} <= set(metrics["val"])
    assert "synthetic" in metrics["val"]["per_source"]
    assert metrics["command"].startswith("python -m train fit")
    assert "small_cnn_lean" in (run_dir / "summary.txt").read_text()
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.tf
def test_evaluate_cli_on_keras(run_dir, tmp_path, capsys):
    from edge.sim import save_classification_folder

    folder = tmp_path / "holdout"
    save_classification_folder(folder, 12, size=TINY["input_size"], seed=9)
    out = tmp_path / "eval.json"
    assert cli.main(["evaluate", "--model", str(run_dir / "best.keras"), "--data", str(folder),
                     "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"n", "accuracy", "precision", "recall", "f1"} <= set(result)
    assert result["n"] == 12 and 0.0 <= result["accuracy"] <= 1.0
    assert "holdout" in result["per_source"]
    assert cli.main(["evaluate", "--model", str(run_dir / "best.keras"), "--data", str(folder), "--zoom", "2"]) == 2
    assert "--zoom is for segmenters" in capsys.readouterr().err


@pytest.mark.tf
def test_evaluate_scores_a_segmentation_model_per_pixel(tmp_path, capsys):
    import keras

    from edge.sim import save_segmentation_folder

    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs)
    path = tmp_path / "seg.keras"
    keras.Model(inputs, outputs).save(path)
    save_segmentation_folder(tmp_path / "pairs", 2, size=40, seed=1)
    out = tmp_path / "seg.json"
    assert cli.main(["evaluate", "--model", str(path), "--data", str(tmp_path / "pairs"), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["task"] == "segmentation" and result["n"] == 2
    assert {"precision", "recall", "f1", "iou", "f1_tol2", "ods_f1", "ois_f1"} <= set(result)
    printed = capsys.readouterr().out
    assert "ods_2px" in printed and "ods_0px" in printed and "f1_dil" in printed
    # Segmented enlarged, as the robot's models.segment_zoom: a per-pixel model scores as before.
    zoomed = tmp_path / "seg2.json"
    assert cli.main(["evaluate", "--model", str(path), "--data", str(tmp_path / "pairs"), "--zoom", "2",
                     "--json", str(zoomed)]) == 0
    at2 = json.loads(zoomed.read_text())
    assert at2["segment_zoom"] == 2 and result["segment_zoom"] == 1
    assert abs(at2["f1"] - result["f1"]) < 0.05 and abs(at2["recall"] - result["recall"]) < 0.05
    assert "segmented at 2x" in capsys.readouterr().out
    assert cli.main(["evaluate", "--model", str(path), "--data", str(tmp_path / "pairs"), "--zoom", "7"]) == 2
    assert capsys.readouterr().err.strip().endswith("zoom must be a whole number from 1 to 4, got 7")


@pytest.mark.tf
def test_a_file_that_is_no_keras_model_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"garbage")
    assert cli.main(["evaluate", "--model", str(bad), "--synthetic", "4"]) == 2
    assert "not a .keras model file" in capsys.readouterr().err


def test_evaluate_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["evaluate", "--model", str(tmp_path / "none.keras"), "--synthetic", "4"]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.tf
def test_init_starts_from_a_saved_models_weights_and_refuses_a_misfit(tmp_path):
    from train.runs import load_init
    from train.models import build_model

    saved = build_model("small_cnn_lean", input_size=64, width=0.25)
    saved.save(tmp_path / "first.keras")
    fresh = build_model("small_cnn_lean", input_size=64, width=0.25)
    load_init(fresh, "none")
    assert any((a != b).any() for a, b in zip(fresh.get_weights(), saved.get_weights()))
    load_init(fresh, str(tmp_path / "first.keras"))
    assert all((a == b).all() for a, b in zip(fresh.get_weights(), saved.get_weights()))
    with pytest.raises(ConfigError, match="not an existing .keras model"):
        load_init(fresh, str(tmp_path / "missing.keras"))
    wider = build_model("small_cnn_lean", input_size=64, width=0.5)
    with pytest.raises(ConfigError, match="does not fit this model"):
        load_init(wider, str(tmp_path / "first.keras"))


def test_crack_free_weight_multiplies_one_sources_crack_free_patches():
    from train.data import PatchSet
    from train.fit import sample_weights_for

    labels = np.array([1, 1, 0, 0, 0, 0])
    sources = np.array(["a", "b", "a", "a", "b", "b"], dtype=object)
    ps = PatchSet(np.zeros((6, 4, 4, 3), np.uint8), labels, sources, np.arange(6))
    plain = sample_weights_for(ps, "balanced")
    heavy = sample_weights_for(ps, "balanced", ["b=3"])
    assert plain[2] == plain[4] and heavy[4] == pytest.approx(3 * heavy[2])
    assert heavy[labels == 0].sum() == pytest.approx(plain[labels == 0].sum())  # the class still weighs half
    with pytest.raises(ConfigError, match="no data source named 'c'"):
        sample_weights_for(ps, "balanced", ["c=2"])
