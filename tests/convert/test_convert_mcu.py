"""MCU path: C array + header + op resolver, the tensor arena (measured in the real TFLite Micro
interpreter where the package is installed, computed otherwise) and the budget check."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from convert import mcu
from convert.classifier_bundle import build_bundle
from edge.models.bundle import load_bundle, sha256_of, write_model_json
from edge.errors import ConfigError, ModelError
from train.fit import prepare_data

pytestmark = pytest.mark.tf

ROOT = Path(__file__).resolve().parents[2]
needs_tflm = pytest.mark.skipif(not mcu.tflm_available(), reason="tflite-micro not installed (pip install -e .[mcu])")


@pytest.fixture(scope="module")
def bundle_dir(tiny_run, tmp_path_factory):
    _, train, val = prepare_data(tiny_run.config)
    out = tmp_path_factory.mktemp("mcu") / "tiny_mcu"
    build_bundle(tiny_run.model_path, out, train.images[:60], val, name="tiny_mcu", compare=[],
                 max_drop_points=100, latency_threads=())
    return out


def _target(tmp_path, bundle_dir, **over):
    config = {
        "kind": "mcu", "target": "testboard", "description": "a test board", "model": str(bundle_dir),
        "flash_bytes": 1 << 20, "ram_bytes": 256 << 10, "runtime_flash_bytes": 100_000,
        "runtime_ram_bytes": 20_000, "arena_margin": 0.1, "frame_buffers": 1,
    }
    config.update(over)
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_sources_header_ops_and_report(bundle_dir, tmp_path, capsys):
    out = tmp_path / "src"
    assert mcu.main(["--target", str(_target(tmp_path, bundle_dir)), "--out", str(out)]) == 0
    assert "tiny_mcu on testboard: fits" in capsys.readouterr().out
    info = load_bundle(bundle_dir).info
    model = (bundle_dir / "model.tflite").read_bytes()
    source = (out / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_tiny_mcu_model_data[]" in source
    body = source.split("= {", 1)[1].split("};", 1)[0]
    assert bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", body)) == model  # the array is the file
    assert f"g_tiny_mcu_model_data_len = {len(model)};" in source
    header = (out / "model_data.h").read_text()
    report = json.loads((out / "mcu_report.json").read_text())
    assert f"kTensorArenaSize = {report['arena_bytes']};" in header
    assert "kInputHeight = 64;" in header and f"kInputZeroPoint = {info.input.zero_point};" in header
    assert report["arena_bytes"] % 16 == 0 and report["arena_bytes"] >= 1.1 * report["arena_used_bytes"]
    ops = (out / "ops.txt").read_text().split()
    assert ops == ["CONV_2D", "MEAN", "FULLY_CONNECTED", "LOGISTIC"] == report["ops"]
    resolver = (out / "model_ops.h").read_text()
    assert "MicroMutableOpResolver<4>" in resolver
    assert [m for m in re.findall(r"resolver\.(Add\w+)\(\)", resolver)] == ["AddConv2D", "AddMean", "AddFullyConnected",
                                                                         "AddLogistic"]
    assert report["flash_needed"] == len(model) + 100_000 and report["fits"] is True
    assert report["ram_needed"] == report["arena_bytes"] + 64 * 64 * 3 + 20_000
    assert report["arena_method"].startswith("measured" if mcu.tflm_available() else "computed")


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")
def test_generated_array_compiles_and_links(bundle_dir, tmp_path):
    """The C array source compiles; a tiny program linked against it sees the model's first bytes."""
    out = tmp_path / "src"
    mcu.build_mcu(_target(tmp_path, bundle_dir), out, method="computed")
    (out / "main.cc").write_text(
        '#include <cstdio>\n#include "model_data.h"\n'
        "int main() { std::printf(\"%u %c%c%c%c %d\\n\", g_tiny_mcu_model_data_len, g_tiny_mcu_model_data[4], "
        "g_tiny_mcu_model_data[5], g_tiny_mcu_model_data[6], g_tiny_mcu_model_data[7], kTensorArenaSize); }\n"
    )
    subprocess.run(["g++", "-std=c++17", "-o", str(out / "probe"), str(out / "main.cc"), str(out / "model_data.cc")],
                   check=True, capture_output=True, timeout=120)
    size, magic, arena = subprocess.run([str(out / "probe")], capture_output=True, text=True, check=True).stdout.split()
    assert int(size) == (bundle_dir / "model.tflite").stat().st_size and magic == "TFL3"
    assert int(arena) == json.loads((out / "mcu_report.json").read_text())["arena_bytes"]


@needs_tflm
def test_measured_arena_is_enough_and_tflm_matches_litert(bundle_dir):
    from tflite_micro import runtime

    path = bundle_dir / "model.tflite"
    used = mcu.measured_arena(path)
    computed = mcu.planned_arena(path)
    assert 64 * 64 * 3 <= computed <= used  # activations alone, at least the input tensor
    # the measured size is enough to run, a quarter of it is not (child process: TFLM may abort)
    assert mcu.measured_arena(path, arena_limit=used) == used
    with pytest.raises(ModelError, match="could not run"):
        mcu.measured_arena(path, arena_limit=used // 4)
    # the micro interpreter gives LiteRT's int8 outputs on synthetic patches; both run reference
    # kernels (LiteRT's optimized ones round differently and drift several steps on some patches)
    from convert.ccode.verify import litert_interpreter, run_litert
    from edge.sim import make_patches

    images, _, _ = make_patches(6, size=64, seed=3)
    inputs = (images.astype(np.int16) - 128).astype(np.int8)  # scale 1, zero point -128
    interp = runtime.Interpreter.from_file(str(path), arena_size=used)
    micro = []
    for x in inputs:
        interp.set_input(x[None], 0)
        interp.invoke()
        micro.append(interp.get_output(0).ravel()[-1])
    reference = run_litert(litert_interpreter(path, "reference"), inputs).reshape(len(inputs), -1)[:, -1]
    assert np.abs(np.asarray(micro, np.int32) - reference.astype(np.int32)).max() <= 1


def test_too_little_ram_or_flash_is_refused_with_the_numbers(bundle_dir, tmp_path, capsys):
    out = tmp_path / "src"
    small_ram = _target(tmp_path, bundle_dir, ram_bytes=30_000)
    assert mcu.main(["--target", str(small_ram), "--out", str(out), "--arena", "computed"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: tiny_mcu does not fit testboard: RAM") and "> 29.3 KB" in err and "\n" not in err
    assert re.search(r"arena [\d.]+ KB: [\d.]+ KB computed from tensor lifetimes \+ 10 %; frame 12.0 KB; "
                     r"runtime 19.5 KB\)", err)
    small_flash = _target(tmp_path, bundle_dir, flash_bytes=50_000)
    with pytest.raises(ModelError, match=r"flash .* \(model .* \+ firmware 97.7 KB\) > 48.8 KB"):
        mcu.build_mcu(small_flash, out, method="computed")
    assert not out.exists()  # nothing written for a model that does not fit


def test_bad_target_configs_name_key_and_line(bundle_dir, tmp_path):
    path = _target(tmp_path, bundle_dir, ram_kb=12)
    with pytest.raises(ConfigError, match=r"board.yaml:11: ram_kb: Extra inputs are not permitted"):
        mcu.load_target(path)
    path = _target(tmp_path, bundle_dir, flash_bytes=-1)
    with pytest.raises(ConfigError, match=r"board.yaml:5: flash_bytes: Input should be greater than 0"):
        mcu.load_target(path)
    with pytest.raises(ConfigError, match="not an MCU firmware config"):
        mcu.load_target(ROOT / "firmware_configs" / "desktop_sim.yaml")


def test_a_corrupt_model_in_the_bundle_is_one_line(bundle_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(bundle_dir, broken)
    (broken / "model.tflite").write_bytes(b"TFL3" + bytes(range(256)) * 4)
    info = load_bundle(bundle_dir).info.model_copy(update={"sha256": sha256_of(broken / "model.tflite")})
    write_model_json(broken, info)
    argv = ["--target", str(_target(tmp_path, broken)), "--out", str(tmp_path / "o")]
    assert mcu.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not a loadable TFLite model" in err and "\n" not in err


def test_shipped_mcu_target_and_model_fit(tmp_path):
    """firmware_configs/mcu/esp32s3.yaml with the shipped 96 px classifier."""
    target = mcu.load_target(ROOT / "firmware_configs" / "mcu" / "esp32s3.yaml")
    bundle = load_bundle(ROOT / target.model)
    assert bundle.info.input.shape == [1, 96, 96, 3] and bundle.info.input.dtype == "int8"
    plan = mcu.plan(target, bundle, method="computed")
    assert plan.fits and plan.ram_needed < target.ram_bytes and plan.flash_needed < target.flash_bytes
    # the 227 px classifier needs far more RAM than the board has: refused
    big = mcu.plan(target, load_bundle(ROOT / "models" / "crack_classifier"), method="computed")
    with pytest.raises(ModelError, match="crack_classifier does not fit esp32s3: RAM"):
        mcu.check_fits(big, target)
