import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import load_config
from edge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "firmware_configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_validates(path):
    assert load_config(path).robot_id


def _write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


BASE = """robot_id: r1
camera:
  type: sim
  fps: 5
models:
  threads: 2
"""


def test_wrong_type_names_key_and_line(tmp_path):
    path = _write(tmp_path, BASE.replace("fps: 5", "fps: fast"))
    with pytest.raises(ConfigError, match=r"c\.yaml:4: camera\.fps: .*'fast'"):
        load_config(path)


def test_unknown_key_suggests_the_right_one(tmp_path):
    path = _write(tmp_path, BASE.replace("threads: 2", "thread: 2"))
    with pytest.raises(ConfigError, match=r":6: models\.thread: .*did you mean threads\?"):
        load_config(path)


def test_a_key_given_twice_names_both_lines(tmp_path):
    path = _write(tmp_path, BASE + "  backend: litert\n  threads: 4\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:8: models\.threads: given twice \(first on line 6\)$"):
        load_config(path)


def test_unknown_camera_type(tmp_path):
    path = _write(tmp_path, BASE.replace("type: sim", "type: webcam9"))
    with pytest.raises(ConfigError, match=r":3: camera.type: .*webcam9"):
        load_config(path)


def test_overrides_are_typed_and_blamed_on_set(tmp_path):
    path = _write(tmp_path, BASE)
    cfg = load_config(path, ["mqtt.port=1884", "robot_id=r2", "camera.realtime=true"])
    assert (cfg.mqtt.port, cfg.robot_id, cfg.camera.realtime) == (1884, "r2", True)
    with pytest.raises(ConfigError, match=r"--set mqtt\.port"):
        load_config(path, ["mqtt.port=abc"])


def test_env_expansion(tmp_path, monkeypatch):
    path = _write(tmp_path, BASE + "mqtt:\n  password: ${CRACKBOT_TEST_PW}\n")
    monkeypatch.setenv("CRACKBOT_TEST_PW", "s3cret")
    assert load_config(path).mqtt.password == "s3cret"
    monkeypatch.delenv("CRACKBOT_TEST_PW")
    with pytest.raises(ConfigError, match="CRACKBOT_TEST_PW is not set"):
        load_config(path)


def test_invalid_yaml_names_the_line(tmp_path):
    path = _write(tmp_path, BASE + "mqtt: [unclosed\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:\d+: not valid YAML"):
        load_config(path)


def test_check_config_cli_exit_2_one_line(tmp_path):
    path = _write(tmp_path, BASE.replace("fps: 5", "fps: fast"))
    proc = subprocess.run([sys.executable, "-m", "edge", "check-config", str(path)], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "camera.fps" in lines[0] and ":4:" in lines[0]
    ok = subprocess.run([sys.executable, "-m", "edge", "check-config", str(CONFIGS[0])], capture_output=True, text=True,
                        cwd=ROOT)
    assert ok.returncode == 0, ok.stderr


def test_new_sections_name_key_and_line(tmp_path):
    path = _write(tmp_path, "robot_id: r1\ncamera:\n  type: picamera2\n  lores_size: [640]\npose:\n  source: gps\n")
    with pytest.raises(ConfigError, match=r"c.yaml:4: camera.lores_size"):
        load_config(path)
    path = _write(tmp_path, "robot_id: r1\ncamera: {type: sim}\nscale:\n  focal_mm: 4\n")
    with pytest.raises(ConfigError, match=r"c.yaml:4: scale.focal_mm: .*did you mean focal_length_mm"):
        load_config(path)
    path = _write(tmp_path, "robot_id: r1\ncamera: {type: gstreamer, pipeline: 'a ! appsink', max_failures: 0}\n")
    with pytest.raises(ConfigError, match=r"camera.max_failures"):
        load_config(path)


@pytest.mark.parametrize("extra, message", [
    ("tracking: {votes_k: 3, votes_n: 2}\n", r"c\.yaml:\d+: tracking: .*votes_k \(3\) must not exceed votes_n \(2\)"),
    ("pose: {source: csv}\n", r"c\.yaml:\d+: pose: .*source csv needs csv_path"),
    ("scale: {focal_length_mm: 6}\n", r"c\.yaml:\d+: scale: .*focal_length_mm is set but pixel_pitch_um is not"),
    ("measure: {severity_scale: Richter}\n", r"c\.yaml:\d+: measure\.severity_scale: .*unknown scale 'Richter'"),
    ("mqtt: {tls: {ca_certs: ca.pem, certfile: c.pem}}\n", r"mqtt\.tls: .*certfile and keyfile go together"),
])
def test_rules_between_keys_are_the_schemas(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(_write(tmp_path, BASE + extra))
    assert "\n" not in str(caught.value)


def test_model_folders_are_relative_to_the_config_file(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "c.yaml"
    path.write_text(BASE.replace("  threads: 2\n", "  classifier: ../models/clf\n  segmenter: /abs/seg\n"))
    monkeypatch.chdir("/")
    cfg = load_config(path)
    assert cfg.models.classifier == str(tmp_path / "models" / "clf") and cfg.models.segmenter == "/abs/seg"
    # a --set is typed in a shell: relative to the working directory, as the shell's own paths are
    assert load_config(path, ["models.classifier=here/clf"]).models.classifier == "here/clf"
