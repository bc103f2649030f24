"""The wheel as a user gets it: built from a clean copy of the tree, installed (not editable) into a
fresh venv and run from outside the source tree. The C compile step reads main_template.c beside
its code, so it fails there when the wheel lacks a data file."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("crackbot", "edge", "convert", "train", "monitor")
MODEL = REPO / "models" / "crack_classifier_mcu96"  # the smallest shipped bundle
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "runs", "out", "__pycache__",
                                    "*.egg-info", ".pytest_cache", ".hypothesis", "*.pyc")
# pip's words when it cannot reach a package index (no network): a skip, not a packaging fault.
NO_INDEX = ("No matching distribution found", "Could not find a version that satisfies",
            "Failed to establish a new connection", "Temporary failure in name resolution", "Network is unreachable")


def _env() -> dict:
    """The environment without anything that would put the source tree on the path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}


def _pip(python: Path | str, *args: str) -> None:
    proc = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=600, env=_env())
    if proc.returncode != 0 and any(words in proc.stdout + proc.stderr for words in NO_INDEX):
        pytest.skip(f"no package index for pip {args[0]}: {(proc.stderr or proc.stdout).strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=NOT_SOURCE)  # build outputs stay out of the checkout
    _pip(sys.executable, "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(src))
    (built,) = (tmp / "dist").glob("crackbot-*.whl")
    return built


def test_the_wheel_carries_every_file_beside_the_code(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {p.relative_to(REPO).as_posix() for package in PACKAGES for p in (REPO / package).rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert "convert/ccode/main_template.c" in data
    assert data <= names, f"missing from the wheel: {sorted(data - names)}"
    assert {p.relative_to(REPO).as_posix() for package in PACKAGES for p in (REPO / package).rglob("*.py")} <= names
    assert not any(name.startswith(("tests/", "bench/", "models/")) for name in names)
    dist_info = {name.split("/", 1)[0] for name in names if ".dist-info/" in name}.pop()
    assert any(name.startswith(dist_info) and name.rsplit("/", 1)[-1] == "LICENSE" for name in names)
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "crackbot = crackbot.cli:main" in entry_points


def test_the_installed_wheel_compiles_a_model_to_c(wheel, tmp_path):
    compiler = (os.environ.get("CC", "").strip() or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler {compiler!r}")
    venv = tmp_path / "venv"
    # System site packages only for speed (numpy and friends where the base interpreter has them);
    # crackbot itself comes from the wheel, as the check below makes sure.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, env=_env())
    python, script = venv / "bin" / "python", venv / "bin" / "crackbot"
    # convert.ccode's own needs: the tflite flatbuffer reader and OpenCV (both from the train extra,
    # whose TensorFlow this step does not need).
    _pip(python, "install", "-q", str(wheel), "tflite>=2.18", "opencv-python-headless>=4.8")

    elsewhere = tmp_path / "elsewhere"  # not the source tree: python puts the cwd first on the path
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import convert, crackbot, edge; print(convert.__file__);"
                            "print(crackbot.__file__); print(edge.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, env=_env(), timeout=60)
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).resolve().is_relative_to(venv.resolve()), f"{path} is not the installed wheel"

    out = tmp_path / "model_c"
    proc = subprocess.run([str(script), "convert", "ccode", "--model", str(MODEL), "--out", str(out), "--no-report"],
                          cwd=elsewhere, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (out / "main.c").is_file() and (out / "model.c").is_file() and (out / "model.json").is_file()
    assert list(out.glob("libcrack_model.*")), sorted(p.name for p in out.iterdir())
