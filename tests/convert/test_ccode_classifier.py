"""The shipped int8 classifier compiled to C: 1000 synthetic patches against LiteRT's int8
reference kernels, the compiled folder as a bundle, the standalone program, train evaluate."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from convert.ccode.compile import compile_model  # noqa: E402
from convert.ccode.verify import compare, synthetic_patches  # noqa: E402
from edge.models.bundle import load_bundle  # noqa: E402
from edge.models.native import NativeModel  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "crack_classifier"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return compile_model(SHIPPED, tmp_path_factory.mktemp("ccode") / "crack_classifier_c", march_native=True)


@pytest.mark.slow
def test_1000_patches_agree_with_litert_int8(compiled):
    """LiteRT's own int8 kernels (no XNNPACK delegate); the reference kernels, 20x slower, on a sample."""
    images = synthetic_patches(1000, 227, seed=11)
    assert len(images) == 1000
    model = NativeModel(compiled.build.library, compiled.info)
    found = compare(compiled.source.tflite, model, compiled.info, images, ["builtin"])
    found.update(compare(compiled.source.tflite, model, compiled.info, images[::10], ["reference"]))
    for resolver, a in found.items():
        assert a.values == a.patches == (1000 if resolver == "builtin" else 100)
        assert a.equal_fraction >= 0.999, resolver
        assert a.max_step_difference <= 1, resolver
        assert a.decision_mismatches == 0, resolver


def test_compiled_folder_is_a_bundle_of_the_library(compiled):
    bundle = load_bundle(compiled.folder)  # checks the library against the sha256 in model.json
    assert bundle.model_path.suffix == ".so"
    source = load_bundle(SHIPPED).info
    assert bundle.info.training["compiled_from"]["sha256"] == source.sha256
    assert (bundle.info.input, bundle.info.output, bundle.info.labels) == (source.input, source.output, source.labels)
    assert compiled.build.warnings == ()  # clean under -Wall -Wextra
    assert not (compiled.folder / "-.su").exists()  # the compiler probe leaves nothing behind
    header = (compiled.folder / "model.h").read_text()
    assert "int crack_model_run(const int8_t *input, int8_t *output);" in header
    assert f"#define CRACK_MODEL_ARENA_BYTES {compiled.code.plan.arena_bytes}" in header
    assert "malloc" not in (compiled.folder / "model.c").read_text()
    plan = json.loads((compiled.folder / "plan.json").read_text())
    assert plan["arena_bytes"] == compiled.code.plan.arena_bytes < compiled.code.plan.naive_bytes


def _ppm(path: Path, rgb: np.ndarray) -> Path:
    h, w = rgb.shape[:2]
    path.write_bytes(f"P6\n{w} {h}\n255\n".encode() + rgb.tobytes())
    return path


def test_program_prints_what_the_library_computes(compiled, tmp_path):
    from edge.models.classifier import Classifier

    images = synthetic_patches(4, 227, seed=5)
    classifier = Classifier(load_bundle(compiled.folder), backend="native")
    for i, rgb in enumerate(images):
        out = subprocess.run([str(compiled.build.program), str(_ppm(tmp_path / f"p{i}.ppm", rgb))],
                             capture_output=True, text=True, check=True).stdout
        lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
        expected = float(classifier.classify(rgb)[0])
        assert float(lines["crack"]) == pytest.approx(expected, abs=1e-6)
        assert lines["decision"] == ("crack" if expected >= 0.5 else "no_crack")


def test_program_rejects_a_wrong_size_image_in_one_line(compiled, tmp_path):
    small = _ppm(tmp_path / "small.ppm", np.zeros((100, 100, 3), np.uint8))
    proc = subprocess.run([str(compiled.build.program), str(small)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {small}: image is 100x100, the model takes 227x227"
    raw = tmp_path / "short.bin"
    raw.write_bytes(b"\x00" * 10)
    proc = subprocess.run([str(compiled.build.program), "--raw", str(raw)], capture_output=True, text=True)
    assert proc.returncode == 2 and "expected exactly 154587 bytes" in proc.stderr


def test_train_evaluate_takes_the_compiled_folder(compiled, tmp_path):
    from edge.sim import save_classification_folder
    from train.tasks import evaluate

    data = tmp_path / "data"
    save_classification_folder(data, 40, seed=3)
    native = evaluate(compiled.folder, [data])
    litert = evaluate(SHIPPED, [data])
    assert native["n"] == litert["n"] == 40
    assert native["accuracy"] == pytest.approx(litert["accuracy"], abs=1 / 40)
