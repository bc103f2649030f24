"""Start-up of the real edge process: bad models refused in one line, an absent broker retried."""
import json
import subprocess
import sys
import threading

import pytest

from monitor.broker import start_broker
from tests.helpers import wait_until
from tests.integration.helpers import ROOT, edge_run, outbox_events, write_sim_config


def _refused(tmp_path, bundle, expected):
    config = write_sim_config(tmp_path, port=1, bundle=bundle)
    proc = edge_run(config, tmp_path / "s.json")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert expected in lines[0]
    assert not (tmp_path / "s.json").exists()


def test_missing_model_file_is_refused(tmp_path, shipped_bundle):
    (shipped_bundle / "model.tflite").unlink()
    _refused(tmp_path, shipped_bundle, "model file model.tflite is missing")


def test_missing_bundle_folder_is_refused(tmp_path):
    _refused(tmp_path, tmp_path / "nowhere", "no model.json")


def test_model_whose_input_differs_from_model_json_is_refused(tmp_path, shipped_bundle):
    meta = json.loads((shipped_bundle / "model.json").read_text())
    meta["input"]["shape"] = [1, 224, 224, 3]
    meta["tile"] = {"size": 224, "stride": 224}  # model.json consistent in itself, wrong about the model file
    (shipped_bundle / "model.json").write_text(json.dumps(meta))
    _refused(tmp_path, shipped_bundle, "input shape [1, 227, 227, 3] != model.json [1, 224, 224, 3]")


def test_model_file_that_changed_is_refused(tmp_path, shipped_bundle):
    with open(shipped_bundle / "model.tflite", "ab") as fh:
        fh.write(b"\0")
    _refused(tmp_path, shipped_bundle, "does not match model.json")


def test_corrupt_model_file_is_refused(tmp_path, shipped_bundle):
    from edge.models.bundle import sha256_of

    (shipped_bundle / "model.tflite").write_bytes(b"not a flatbuffer at all" * 10)
    meta = json.loads((shipped_bundle / "model.json").read_text())
    meta["sha256"] = sha256_of(shipped_bundle / "model.tflite")
    (shipped_bundle / "model.json").write_text(json.dumps(meta))
    _refused(tmp_path, shipped_bundle, "not a loadable TFLite model")


@pytest.mark.slow
@pytest.mark.broker
def test_unreachable_broker_at_start_is_retried(tmp_path, shipped_bundle, free_port):
    config = write_sim_config(tmp_path, port=free_port, bundle=shipped_bundle, confirm="puback")
    summary = tmp_path / "s.json"
    cmd = [sys.executable, "-m", "edge", "run", "--config", str(config), "--summary", str(summary)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: [lines.append(line) for line in proc.stderr], daemon=True)
    reader.start()
    try:
        # the robot starts and works with no broker: a connect failed, and events wait in its outbox
        outbox = tmp_path / "outbox-sim-t1.sqlite"
        assert wait_until(lambda: proc.poll() is not None or (any("cannot connect" in line for line in lines)
                                                               and outbox.exists() and outbox_events(outbox)), 60)
        assert proc.poll() is None, "".join(lines)
        with start_broker(port=free_port):
            proc.wait(timeout=120)
            reader.join(10)
    finally:
        proc.kill()
    err = "".join(lines)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    result = json.loads(summary.read_text())
    assert result["frames"] > 0
    assert result["events_acked"] == result["events_published"] and result["outbox_backlog"] == 0


def test_device_side_runs_without_tensorflow(tmp_path, shipped_bundle, mqtt_broker):
    """The edge in a fresh interpreter where importing tensorflow would fail outright."""
    config = write_sim_config(tmp_path, port=mqtt_broker.port, bundle=shipped_bundle, confirm="puback")
    code = (
        "import sys, json\n"
        "sys.modules['tensorflow'] = None  # any import of tensorflow now raises ImportError\n"
        "from edge.cli import main\n"
        f"rc = main(['run', '--config', {str(config)!r}, '--max-frames', '3',"
        f" '--summary', {str(tmp_path / 's.json')!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print(json.dumps({'rc': rc, 'loaded': loaded}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"rc": 0, "loaded": ["tensorflow"]}  # only our None placeholder
    assert json.loads((tmp_path / "s.json").read_text())["frames"] == 3


def test_model_json_inconsistent_in_itself_is_refused(tmp_path, shipped_bundle):
    meta = json.loads((shipped_bundle / "model.json").read_text())
    meta["normalization"]["std"] = [0, 0, 0]  # ran to the end before, finding no crack
    (shipped_bundle / "model.json").write_text(json.dumps(meta))
    _refused(tmp_path, shipped_bundle, "normalization.std: every std must be > 0")


def test_binary_config_is_refused_in_one_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff binary")
    proc = edge_run(config, tmp_path / "s.json")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"error: {config}: not UTF-8 text (byte 0); is this a YAML config?"], proc.stderr


def test_outbox_that_cannot_be_written_is_refused_in_one_line(tmp_path, shipped_bundle):
    config = write_sim_config(tmp_path, port=1, bundle=shipped_bundle)
    (tmp_path / "outbox-sim-t1.sqlite").mkdir()  # where the config puts the outbox: not a file
    proc = edge_run(config, tmp_path / "s.json")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("error: outbox.path ") and "cannot open for writing" in lines[0]
