"""Every export variant converted, run by the real LiteRT interpreter, validated against Keras and
timed; the int8 refusal when calibration is broken; the bad-input errors of the convert step."""
import json
import logging

import numpy as np
import pytest

from convert import cli as convert_cli
from convert import latency as latency_cli
from convert.classifier_bundle import build_bundle
from convert.report import REPORT_NAME, format_table
from convert.tflite import EXPORTERS
from convert.validate import check_keras_task, metric_deltas, output_differences
from edge.models.bundle import load_bundle
from edge.errors import ModelError
from train.fit import prepare_data

pytestmark = pytest.mark.tf

# input / output dtype each variant must have when the real interpreter loads it
IO_TYPES = {"fp32": np.float32, "fp16": np.float32, "dynamic": np.float32, "int8": np.int8, "uint8": np.uint8}


@pytest.fixture(scope="module")
def split(tiny_run):
    _, train, val = prepare_data(tiny_run.config)
    return train, val


@pytest.fixture(scope="module")
def all_variants(tiny_run, split, tmp_path_factory):
    """A bundle built with every variant compared and timed at 1 and 2 threads."""
    train, val = split
    out = tmp_path_factory.mktemp("variants") / "b"
    info, table = build_bundle(tiny_run.model_path, out, train.images[:100], val, compare=list(EXPORTERS),
                               max_drop_points=5, latency_threads=(1, 2))
    return out, info, table


def test_every_variant_runs_in_the_real_interpreter(all_variants):
    _, _, table = all_variants
    assert [row.variant for row in table] == ["keras", "fp32", "fp16", "dynamic", "uint8", "int8"]
    for row in table[1:]:
        # read from each file by the interpreter while it existed; probs come from the edge classifier
        io = row.extra["io"]
        expected = np.dtype(IO_TYPES[row.variant]).name
        assert io["input_dtype"] == expected and io["output_dtype"] == expected, row.variant
        assert io["input_shape"] == [1, 64, 64, 3]  # fixed batch of 1
        assert row.extra["probs"].shape == (80,)
        assert 0.0 <= row.extra["max_abs_diff"] <= 1.0
    sizes = {row.variant: row.size_bytes for row in table}
    assert sizes["fp32"] > sizes["fp16"] > sizes["int8"]  # quantization shrinks the file
    # float32 is the Keras graph itself: same outputs to float precision
    fp32 = next(r for r in table if r.variant == "fp32")
    assert fp32.extra["max_abs_diff"] < 1e-4 and fp32.extra["agreement"] == 1.0


def test_report_json_in_the_bundle(all_variants):
    out, info, _ = all_variants
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["model"] == info.name and report["sha256"] == load_bundle(out).info.sha256
    assert report["shipped_variant"] == "int8" and report["held_out"] == 80
    assert report["max_drop"] == {"accuracy_points": 5}
    assert report["latency"]["threads"] == [1, 2] and report["latency"]["runtime"].startswith("ai-edge-litert")
    rows = {r["variant"]: r for r in report["variants"]}
    assert set(rows) == {"keras", *EXPORTERS}
    assert rows["int8"]["shipped"] and not rows["uint8"]["shipped"]
    for name in EXPORTERS:
        r = rows[name]
        assert set(r["latency_ms"]) == {"1", "2"} and r["latency_ms"]["1"]["median_ms"] > 0
        assert set(r["deltas_points"]) >= {"accuracy", "precision", "recall", "f1"}
        expected = 100 * (r["metrics"]["accuracy"] - rows["keras"]["metrics"]["accuracy"])
        assert r["deltas_points"]["accuracy"] == pytest.approx(expected, abs=1e-3)
    assert rows["keras"]["latency_ms"] == {} and rows["keras"]["max_abs_diff"] == 0.0
    # the int8 delta recorded in model.json matches the report's
    assert info.metrics["int8"]["accuracy_delta_points"] == pytest.approx(rows["int8"]["deltas_points"]["accuracy"])
    lines = format_table(report["variants"])
    assert lines[0].split()[:4] == ["variant", "size", "KB", "accuracy"] and "ms@2" in lines[0]
    assert lines[-1].startswith("int8*") and len(lines) == 7


def test_uint8_io_bundle_runs_on_the_edge(tiny_run, split, tmp_path):
    from edge.models.classifier import Classifier

    train, val = split
    info, table = build_bundle(tiny_run.model_path, tmp_path / "u", train.images[:60], val, compare=[],
                               shipped="uint8", max_drop_points=5, latency_threads=())
    assert info.input.dtype == "uint8" and info.output.dtype == "uint8"
    assert [r.variant for r in table] == ["keras", "uint8"]
    probs = Classifier(load_bundle(tmp_path / "u"), threads=1).classify(val.images[:10])
    assert probs.shape == (10,) and np.all((probs >= 0) & (probs <= 1))


def test_black_calibration_ruins_int8_and_is_refused(tiny_run, split, tmp_path, caplog):
    """Calibrating on constant black images squeezes the input range to nothing: every real pixel
    saturates, int8 answers the same for everything, and the bundle is refused with the numbers."""
    _, val = split
    caplog.set_level(logging.INFO, logger="convert.report")
    black = np.zeros((50, 64, 64, 3), np.uint8)
    with pytest.raises(ModelError) as err:
        build_bundle(tiny_run.model_path, tmp_path / "b", black, val, compare=[], latency_threads=())
    msg = str(err.value)
    assert "points below the float model's" in msg and "80 held-out patches" in msg
    assert "limit 0.5 points" in msg and "bundle not written" in msg and "\n" not in msg
    assert not (tmp_path / "b").exists()
    assert any("int8" in r.getMessage() and "%" in r.getMessage() for r in caplog.records)  # table logged


def test_validation_functions_on_hand_computed_values():
    diff = output_differences(np.array([0.1, 0.6, 0.9, 0.4]), np.array([0.2, 0.4, 0.9, 0.45]), 0.5)
    assert diff["agreement"] == 0.75 and diff["max_abs_diff"] == pytest.approx(0.2)
    assert diff["mean_abs_diff"] == pytest.approx((0.1 + 0.2 + 0 + 0.05) / 4)
    assert metric_deltas({"accuracy": 0.9, "f1": 0.8, "n": 10}, {"accuracy": 0.885, "f1": 0.81}) == {
        "accuracy": pytest.approx(-1.5), "f1": pytest.approx(1.0)}
    with pytest.raises(ValueError):
        output_differences(np.zeros(3), np.zeros(4), 0.5)


def test_a_keras_model_of_another_task_is_refused_in_one_line(tmp_path, capsys):
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    ten_classes = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    with pytest.raises(ModelError, match="another task"):
        check_keras_task(ten_classes)
    path = tmp_path / "imagenet_like.keras"
    ten_classes.save(path)
    assert convert_cli.main(["--model", str(path), "--out", str(tmp_path / "o"), "--synthetic", "40"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "(None, 10)" in err and "\n" not in err
    assert not (tmp_path / "o").exists()
    gray_in = keras.Input((32, 32, 1))
    gray = keras.Model(gray_in, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(gray_in)))
    with pytest.raises(ModelError, match="not an RGB image"):
        check_keras_task(gray)


def test_an_empty_calibration_folder_is_one_line(tiny_run, tmp_path, capsys):
    empty = tmp_path / "calib"
    (empty / "Positive").mkdir(parents=True)
    (empty / "Negative").mkdir()
    argv = ["--model", str(tiny_run.model_path), "--out", str(tmp_path / "o"), "--data", str(empty)]
    assert convert_cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and str(empty) in err and "\n" not in err
    bare = tmp_path / "nothing"
    bare.mkdir()
    assert convert_cli.main(["--model", str(tiny_run.model_path), "--out", str(tmp_path / "o"),
                             "--data", str(bare)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_a_corrupt_tflite_is_one_line(tmp_path, capsys, all_variants):
    out, _, _ = all_variants
    corrupt = tmp_path / "model.tflite"
    corrupt.write_bytes((out / "model.tflite").read_bytes()[:3000])  # truncated download
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a flatbuffer at all" * 10)
    for path in (corrupt, garbage, tmp_path / "missing.tflite"):
        assert latency_cli.main([str(path), "--runs", "2"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and str(path) in err and "\n" not in err
    assert latency_cli.main([str(out), "--threads", "0"]) == 2
    assert capsys.readouterr().err.strip() == \
        "error: latency needs at least 1 run and 1 thread (got runs 30, threads [0])"
    assert latency_cli.main([str(out), "--threads", "1", "--runs", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "1 thr ms" in lines[0] and float(lines[1].split()[-1]) > 0
