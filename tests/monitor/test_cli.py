"""``python -m monitor`` against the fixture broker: events, summary, map, --until-stopped, user errors."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import paho.mqtt.client as mqtt
import pytest

from monitor.cli import event_line, main

REPO = Path(__file__).resolve().parents[2]


def _publisher(broker) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"cli-test-{time.monotonic_ns()}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _send(client, topic: str, payload, retain: bool = False) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    client.publish(topic, data, qos=1, retain=retain).wait_for_publish(5)


class _Connected(logging.Handler):
    """Fires once the subscriber logs its subscription: publish only then (events are not retained)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.event = threading.Event()

    def emit(self, record):
        if record.getMessage().startswith("subscribed to"):
            self.event.set()


def test_cli_duration_writes_summary_and_map(mqtt_broker, make_event, tmp_path, capsys):
    connected = _Connected()
    logger = logging.getLogger("monitor.subscriber")
    logger.addHandler(connected)
    old_level = logger.level
    logger.setLevel(logging.INFO)

    def robot():
        assert connected.event.wait(10)
        pub = _publisher(mqtt_broker)
        first = make_event(crack_id="c1")
        for payload in (first, first, b"garbage",
                        make_event(crack_id="c1", type="update", seq=1, width_max_mm=6.0,
                                   severity={"scale": "BRE-Digest-251", "category": 3, "label": "moderate"}),
                        make_event(crack_id="c2", wall={"bbox_mm": [3000, 1200, 3100, 1800], "center_mm": None})):
            _send(pub, "crackbot/rb-01/events", payload)
        pub.disconnect()
        pub.loop_stop()

    thread = threading.Thread(target=robot)
    thread.start()
    summary_path, map_path = tmp_path / "summary.json", tmp_path / "map.png"
    try:
        rc = main(["--host", mqtt_broker.host, "--port", str(mqtt_broker.port), "--duration", "1.5",
                   "--summary", str(summary_path), "--map", str(map_path), "--db", str(tmp_path / "reg.db"),
                   "--wall-width-mm", "5000", "--wall-height-mm", "2500"])
    finally:
        thread.join()
        logger.removeHandler(connected)
        logger.setLevel(old_level)
    out = capsys.readouterr().out
    assert rc == 0
    summary = json.loads(summary_path.read_text())
    counted = (summary["events_received"], summary["duplicates_dropped"], summary["invalid"], summary["cracks"])
    assert counted == (3, 1, 1, 2)
    assert summary["connected"] is True and summary["registry"]["cracks"] == 2
    lines = out.splitlines()
    assert len(lines) == 4  # three events and the final summary
    assert "rb-01 c1* new" in lines[0] and "wall (1200, 560) mm" in lines[0] and "conf 0.93" in lines[0]
    assert "c1  update" in lines[1] and "width 6.00 mm" in lines[1] and "sev 3 moderate" in lines[1]
    assert lines[-1].startswith("monitor: 3 events (1 duplicates dropped, 1 invalid), 2 cracks")
    assert cv2.imread(str(map_path)).shape[1] == 1600


@pytest.mark.slow
def test_cli_until_stopped_as_a_process(mqtt_broker, make_event, tmp_path):
    summary_path = tmp_path / "summary.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # A stop from an earlier run, retained on the broker, must not end this one.
    pub = _publisher(mqtt_broker)
    stopped = {"schema_version": 1, "robot_id": "rb-01", "state": "stopped", "ts": 1.0}
    _send(pub, "crackbot/rb-01/status", stopped, retain=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--host", mqtt_broker.host, "--port", str(mqtt_broker.port),
         "--until-stopped", "--duration", "30", "--quiet", "-v",
         "--summary", str(summary_path)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:  # wait for the subscription before publishing
            if "subscribed to" in line:
                break
        time.sleep(1.3)  # longer than the straggler wait: a wrongly counted stop would have ended the run
        assert proc.poll() is None, "the retained 'stopped' ended the run"
        start = time.monotonic()
        _send(pub, "crackbot/rb-01/status", dict(stopped, state="online", ts=2.0), retain=True)
        _send(pub, "crackbot/rb-01/events", make_event())
        _send(pub, "crackbot/rb-01/status", dict(stopped, ts=3.0), retain=True)
        out, err = proc.communicate(timeout=15)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
        pub.disconnect()
        pub.loop_stop()
    assert proc.returncode == 0, err
    assert 0.9 < took < 10
    summary = json.loads(summary_path.read_text())
    assert summary["events_received"] == 1 and summary["stopped"] == ["rb-01"]
    assert out.startswith("monitor: 1 events")


def test_cli_sigterm_ends_the_run_cleanly(mqtt_broker, tmp_path):
    summary_path = tmp_path / "s.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--host", mqtt_broker.host, "--port", str(mqtt_broker.port), "-v",
         "--summary", str(summary_path), "--map", str(tmp_path / "m.png")],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "subscribed to" in line:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(summary_path.read_text())["events_received"] == 0
    assert (tmp_path / "m.png").stat().st_size > 0 and out.startswith("monitor: 0 events")


def test_cli_never_connected(free_port, capsys):
    assert main(["--host", "127.0.0.1", "--port", str(free_port), "--duration", "0.3", "--quiet"]) == 1
    assert "never reached the MQTT broker" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "port must be 1..65535"),
    (["--port", "http"], "not a port number"),
    (["--summary", "/nonexistent/dir/s.json"], "summary folder does not exist"),
    (["--map", "."], "is a folder"),
    (["--wall-width-mm", "100"], "give both"),
    (["--robot", "rb/#"], "is not a robot id"),
    (["--duration", "-1"], "must be > 0"),
])
def test_cli_user_errors(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_help(capsys):
    assert main(["--help"]) == 0
    assert "--until-stopped" in capsys.readouterr().out


def test_event_line_without_position_or_width(make_event):
    line = event_line(make_event(wall={"bbox_mm": None, "center_mm": None}, width_max_mm=None,
                                 severity={"scale": "s", "category": None, "label": None}), False)
    assert "wall -" in line and "width -" in line and "sev" not in line
