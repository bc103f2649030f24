"""`make bundle`: the device tarball's contents, and a real install from it into a temporary prefix
whose edge then runs against a real broker."""
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sysconfig
import tarfile
from pathlib import Path

import cv2
import pytest

from convert import package
from edge.errors import ConfigError, ModelError

ROOT = Path(__file__).resolve().parents[2]


def _members(archive):
    with tarfile.open(archive) as tar:
        return {m.name: m for m in tar.getmembers()}, {
            m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()
        }


@pytest.fixture(scope="module")
def sim_package(tmp_path_factory):
    return package.build_package("desktop_sim", tmp_path_factory.mktemp("dist"))


def test_device_package_contents(sim_package):
    assert sim_package.name == f"crackbot-desktop_sim-{package.version()}.tar.gz"
    members, data = _members(sim_package)
    top = sim_package.name[: -len(".tar.gz")]
    names = {n[len(top) + 1:] for n in data}
    assert {"install.sh", "crackbot.service", "requirements.txt", "requirements-legacy.txt", "INSTALL.md",
            "SHA256SUMS", "config/desktop_sim.yaml", "src/setup.cfg", "src/pyproject.toml", "src/edge/__init__.py",
            "src/edge/comms/schemas/event.schema.json", "models/crack_classifier/model.tflite",
            "models/crack_classifier/model.json"} <= names
    # the edge package only: no training or conversion code, nothing that pulls in TensorFlow,
    # and none of the desktop tools (the simulator, the photo check)
    assert {n.split("/")[1] for n in names if n.startswith("src/") and n.count("/") > 1} == {"edge"}
    assert not [n for n in names if n.startswith(("src/edge/sim/", "src/edge/photocheck/"))]
    assert "src/edge/camera/folder.py" in names and "src/edge/loop/runner.py" in names
    setup = data[f"{top}/src/setup.cfg"].decode()
    assert "name = crackbot-edge" in setup and "edge.*" in setup and "tensorflow" not in setup.lower()
    assert "train" not in setup.split("[options.packages.find]")[1].split("[")[0]
    assert "ai-edge-litert" in data[f"{top}/requirements.txt"].decode()
    assert "tflite-runtime" in data[f"{top}/requirements-legacy.txt"].decode()
    assert data[f"{top}/config/desktop_sim.yaml"] == (ROOT / "firmware_configs" / "desktop_sim.yaml").read_bytes()
    shipped = (ROOT / "models/crack_classifier/model.tflite").read_bytes()
    assert data[f"{top}/models/crack_classifier/model.tflite"] == shipped
    assert members[f"{top}/install.sh"].mode & 0o111
    script = data[f"{top}/install.sh"].decode()
    assert "@" not in script.split("set -eu", 1)[1].split("HERE=")[0]  # every placeholder filled
    assert 'MODEL_SETS="models.classifier=crack_classifier"' in script
    for line in data[f"{top}/SHA256SUMS"].decode().splitlines():  # every file listed with its real digest
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(data[f"{top}/{name}"]).hexdigest() == digest
    assert len(data[f"{top}/SHA256SUMS"].decode().splitlines()) == len(data) - 1


def test_pi_package_brings_picamera2_from_apt(tmp_path):
    archive = package.build_package("rpi4", tmp_path)
    _, data = _members(archive)
    top = archive.name[: -len(".tar.gz")]
    script = data[f"{top}/install.sh"].decode()
    assert 'APT_PACKAGES="python3-picamera2"' in script and "SYSTEM_SITE=1" in script
    assert "--system-site-packages" in data[f"{top}/INSTALL.md"].decode()
    # /opt/crackbot/models/crack_classifier in the config is the repository's models/crack_classifier
    assert f"{top}/models/crack_classifier/model.json" in data


def test_a_jetson_gets_no_pip_opencv_to_shadow_jetpacks():
    cfg = package._setup_cfg()
    for target in ("jetson_nano", "jetson_orin"):
        reqs = package.requirements(cfg, target)
        assert "ai-edge-litert" in reqs["requirements.txt"] and "tflite-runtime" in reqs["requirements-legacy.txt"]
        assert "opencv" not in reqs["requirements.txt"] + reqs["requirements-legacy.txt"]
    for target in ("rpi4", "desktop_sim"):
        assert "opencv-python-headless" in package.requirements(cfg, target)["requirements.txt"]


def test_mcu_target_packs_the_micro_sources(tmp_path):
    archive = package.build_package("mcu/esp32s3", tmp_path, mcu_method="computed")
    assert archive.name == f"crackbot-esp32s3-{package.version()}.tar.gz"
    _, data = _members(archive)
    names = {n.split("/", 1)[1] for n in data}
    assert {"mcu/model_data.cc", "mcu/model_data.h", "mcu/model_ops.h", "mcu/mcu_report.json",
            "config/esp32s3.yaml", "models/crack_classifier_mcu96/model.tflite"} <= names
    assert not any(n.startswith("src/") for n in names)
    assert json.loads(data[f"crackbot-esp32s3-{package.version()}/mcu/mcu_report.json"])["fits"] is True


def test_package_errors_are_one_line(tmp_path, capsys):
    assert package.main(["--target", "no_such_board", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no firmware config 'no_such_board' (known:") and "rpi4" in err and "\n" not in err
    config = tmp_path / "lost.yaml"
    config.write_text((ROOT / "firmware_configs" / "desktop_sim.yaml").read_text().replace(
        "models/crack_classifier", "models/not_there"))
    with pytest.raises(ModelError, match="models.classifier: no model bundle at ../models/not_there"):
        package.build_package(str(config), tmp_path)
    config.write_text("robot_id: [unclosed\n")
    with pytest.raises(ConfigError):
        package.build_package(str(config), tmp_path)
    assert not list(tmp_path.glob("*.tar.gz"))


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None,
                    reason="the offline install builds the package with this environment's setuptools")
@pytest.mark.slow
def test_install_sh_into_a_prefix_then_run_against_a_broker(tmp_path, mqtt_broker):
    """install.sh for real: a new venv, pip installs the packed edge package into it, config and
    models copied and checked, the wrapper and the unit written (no systemctl). Offline and fast:
    the dependencies (numpy, opencv, LiteRT, ...) come from this test environment through
    PYTHONPATH and pip runs with --no-index; the edge code itself is the installed copy, which has
    no simulator: the robot runs from a folder of frames."""
    from edge.sim import render_wall

    frames = tmp_path / "frames"
    frames.mkdir()
    wall = render_wall(2400, 1400, 3, "concrete", seed=4, mm_per_px=0.5)
    for i in range(8):
        cv2.imwrite(
            str(frames / f"f{i:02d}.png"), cv2.cvtColor(wall.rgb[200:680, 200 * i : 200 * i + 640], cv2.COLOR_RGB2BGR)
        )
    config = tmp_path / "folder_robot.yaml"
    config.write_text(f"robot_id: fr-1\ncamera: {{type: folder, path: {frames}}}\npose: {{source: none}}\n"
                      f"scale: {{mm_per_px: 0.5}}\nmodels: {{classifier: {ROOT / 'models/crack_classifier'}}}\n")
    archive = package.build_package(str(config), tmp_path / "dist")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    unpacked = next((tmp_path / "unpacked").iterdir())
    prefix = tmp_path / "prefix"
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    work = tmp_path / "elsewhere"  # not the repository root, so `edge` cannot come from the checkout
    work.mkdir()
    install = subprocess.run(
        ["sh", str(unpacked / "install.sh"), "--prefix", str(prefix), "--no-service", "--python",
         os.path.realpath(os.sys.executable), "--pip-args", "--no-index --no-build-isolation"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    assert f"installed crackbot {package.version()} for folder_robot in {prefix}" in install.stdout
    where = subprocess.run([str(prefix / "venv/bin/python"), "-c", "import edge; print(edge.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(prefix / "venv"))
    no_sim = subprocess.run([str(prefix / "venv/bin/python"), "-c", "import edge.sim"], cwd=work, env=env,
                            capture_output=True, text=True)
    assert no_sim.returncode != 0 and "No module named 'edge.sim'" in no_sim.stderr
    unit = (prefix / "crackbot.service").read_text()
    assert f"ExecStart={prefix}/bin/crackbot-edge" in unit and f"WorkingDirectory={prefix}" in unit and "{{" not in unit
    assert "Description=crackbot crack inspection (folder_robot)" in unit
    assert (prefix / "models/crack_classifier/model.tflite").is_file()
    if shutil.which("systemd-analyze"):  # systemd's own unit checker: syntax, ExecStart exists and runs
        verify = subprocess.run(["systemd-analyze", "verify", str(prefix / "crackbot.service")],
                                capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stderr

    summary = tmp_path / "summary.json"
    run = subprocess.run(
        [str(prefix / "bin/crackbot-edge"), "--max-frames", "8", "--summary", str(summary),
         "--set", f"mqtt.host={mqtt_broker.host}", "--set", f"mqtt.port={mqtt_broker.port}"],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(summary.read_text())
    assert result["frames"] == 8 and result["tiles"] == 72
    installed = json.loads((prefix / "models/crack_classifier/model.json").read_text())
    assert result["model"]["sha256"] == installed["sha256"]
    assert result["events_published"] > 0 and result["events_acked"] == result["events_published"]
    assert (prefix / "out").is_dir()  # the relative outbox path lands in the install prefix (WorkingDirectory)


def test_install_sh_rejects_unknown_options(sim_package, tmp_path):
    with tarfile.open(sim_package) as tar:
        tar.extractall(tmp_path, filter="data")
    script = next(tmp_path.iterdir()) / "install.sh"
    bad = subprocess.run(["sh", str(script), "--prefx", "/tmp/x"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: unknown option --prefx (see --help)"
    usage = subprocess.run(["sh", str(script), "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "--system-site-packages" in usage.stdout
