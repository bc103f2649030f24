"""The edge's `native` backend: a compiled model folder behind the classifier interface, refused
cleanly when it does not fit, selectable in the firmware config, and run by the real robot loop."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.models.classifier import Classifier
from edge.models.bundle import load_bundle
from edge.errors import ConfigError, ModelError
from edge.models.native import NativeInterpreter, NativeModel

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "crack_classifier"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    pytest.importorskip("tflite")
    from convert.ccode.compile import compile_model

    return compile_model(SHIPPED, tmp_path_factory.mktemp("native") / "crack_classifier_c").folder


@pytest.fixture(scope="module")
def patches():
    from edge.sim import make_patches

    return make_patches(12, seed=9)[0]


def test_native_classifier_matches_the_litert_classifier(compiled, patches):
    native = Classifier(load_bundle(compiled), 2, "native")
    litert = Classifier(load_bundle(SHIPPED), 1, "litert")
    assert isinstance(native.engine, NativeModel)
    assert native.input_size == litert.input_size and native.name == litert.name
    p_native, p_litert = native.classify(patches), litert.classify(patches)
    assert p_native.shape == p_litert.shape == (12,)
    # LiteRT's default (XNNPACK) rounds some requantizations differently: at most a step or two.
    assert np.abs(p_native - p_litert).max() <= 2 / 256 + 1e-6
    assert ((p_native >= 0.5) == (p_litert >= 0.5)).all()


def test_interpreter_shim_runs_code_written_for_litert(compiled, patches):
    from edge.models.preprocess import to_model_input

    bundle = load_bundle(compiled)
    interp = NativeInterpreter(bundle)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert list(inp["shape"]) == bundle.info.input.shape and inp["dtype"] == np.int8
    interp.set_tensor(inp["index"], to_model_input(patches[:1], bundle.info))
    interp.invoke()
    direct = NativeModel(bundle.model_path, bundle.info).invoke(to_model_input(patches[:1], bundle.info))
    assert np.array_equal(interp.get_tensor(out["index"]), direct)


def test_backend_and_folder_must_agree(compiled):
    with pytest.raises(ModelError, match="set models.backend: native"):
        Classifier(load_bundle(compiled), 2, "litert")
    with pytest.raises(ModelError, match="python -m convert.ccode"):
        Classifier(load_bundle(SHIPPED), 2, "native")
    with pytest.raises(ModelError, match="unknown model backend 'tpu'"):
        Classifier(load_bundle(SHIPPED), 2, "tpu")


def test_library_that_disagrees_with_model_json_is_refused(compiled, tmp_path):
    folder = tmp_path / "edited"
    shutil.copytree(compiled, folder)
    meta = json.loads((folder / "model.json").read_text())
    meta["input"]["zero_point"] = 0
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"input quantization \(1, -128\) != model.json \(1, 0\)"):
        Classifier(load_bundle(folder), 2, "native")


def test_tampered_library_is_refused_at_start(compiled, tmp_path):
    folder = tmp_path / "tampered"
    shutil.copytree(compiled, folder)
    lib = folder / load_bundle(compiled).info.file
    lib.write_bytes(lib.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="does not match model.json"):
        load_bundle(folder)


def test_config_selects_the_backend(tmp_path):
    from edge.config import load_config

    base = (ROOT / "firmware_configs" / "desktop_sim.yaml").read_text()
    cfg = load_config(ROOT / "firmware_configs" / "desktop_sim.yaml", ["models.backend=native"])
    assert cfg.models.backend == "native"
    assert load_config(ROOT / "firmware_configs" / "desktop_sim.yaml").models.backend == "litert"
    bad = tmp_path / "bad.yaml"
    bad.write_text(base.replace("  backend: litert", "  backend: tpu", 1))
    with pytest.raises(ConfigError, match="models.backend"):
        load_config(bad)


def test_robot_runs_on_the_compiled_model(compiled, tmp_path, mqtt_broker):
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from helpers import edge_run, write_sim_config

    config = write_sim_config(tmp_path, mqtt_broker.port, compiled, robot_id="native-1", width=1600, height=900,
                              confirm="puback")  # no registry monitor here: the broker's ack is the end
    summary = tmp_path / "summary.json"
    proc = edge_run(config, summary, "--set", "models.backend=native", "--max-frames", "4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(summary.read_text())
    assert result["frames"] == 4 and result["tiles"] > 0
    assert result["model"]["sha256"] == load_bundle(compiled).info.sha256  # the library's hash travels in events
    assert result["events_acked"] == result["events_published"]
