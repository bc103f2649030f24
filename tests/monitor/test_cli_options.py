"""``python -m monitor`` options of the subscriber people use: the live table, exports, connection options."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from monitor.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args, message", [
    (["--certfile", "c.pem"], "give both --certfile and --keyfile"),
    (["--certfile", "c.pem", "--keyfile", "k.pem"], "--certfile needs --cafile"),
    (["--cafile", "/nonexistent/ca.pem"], "no such file: /nonexistent/ca.pem"),
    (["--username", "monitor", "--password-env", "CRACKBOT_TEST_UNSET_VAR"],
     "needs the password in $CRACKBOT_TEST_UNSET_VAR"),
    (["--topic-root", "crackbot/#"], "no wildcards"),
    (["--csv", "/nonexistent/dir/c.csv"], "CSV export folder does not exist"),
    (["--report", "/nonexistent/dir/r.html"], "report folder does not exist"),
])
def test_connection_and_export_option_errors(args, message, capsys, monkeypatch):
    monkeypatch.delenv("CRACKBOT_TEST_UNSET_VAR", raising=False)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_live_table_and_exports_from_a_real_process(mqtt_broker, make_event, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--host", mqtt_broker.host, "--port", str(mqtt_broker.port),
         "--topic-root", "site7/crackbot", "--live", "--live-interval", "0.2", "--until-stopped", "--duration", "60",
         "--csv", str(out / "c.csv"), "--geojson", str(out / "c.geojson"), "--maps", str(out / "maps"),
         "--report", str(out / "r.html"), "--summary", str(out / "s.json"), "-v"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="live-test")
    client.connect(mqtt_broker.host, mqtt_broker.port)
    client.loop_start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "subscribed to" in line or not line:
                assert "site7/crackbot/+/events" in line
                break
        for robot, crack, wall in (("rb-1", "c-1", "north"), ("rb-2", "c-2", "south")):
            event = make_event(robot_id=robot, crack_id=crack,
                               wall={"id": wall, "bbox_mm": [0.0, 0.0, 100.0, 50.0], "center_mm": [50.0, 25.0]})
            client.publish(f"site7/crackbot/{robot}/events", json.dumps(event), qos=1).wait_for_publish(5)
            client.publish(f"crackbot/{robot}/events", json.dumps(make_event(robot_id=robot, crack_id="other-root")),
                           qos=1).wait_for_publish(5)  # another topic root: not ours
        time.sleep(0.6)  # at least one redraw with both cracks in it
        for robot in ("rb-1", "rb-2"):
            client.publish(f"site7/crackbot/{robot}/status", json.dumps(
                {"schema_version": 1, "robot_id": robot, "state": "stopped", "ts": time.time()}), qos=1
            ).wait_for_publish(5)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        client.disconnect()
        client.loop_stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-2000:]
    tables = [block for block in stdout.split("crackbot monitor ") if "c-1" in block and "c-2" in block]
    assert tables, stdout[-2000:]
    assert "other-root" not in stdout
    summary = json.loads((out / "s.json").read_text())
    assert summary["events_received"] == 2
    assert sorted(summary["exports"]["maps"]) == ["north", "south"]
    assert (out / "maps" / "crack_map_north.png").is_file() and (out / "maps" / "crack_map_south.png").is_file()
    assert len(json.loads((out / "c.geojson").read_text())["features"]) == 2
    assert (out / "c.csv").read_text().count("\n") == 3
    assert "c-2" in (out / "r.html").read_text()


@pytest.mark.slow
def test_session_keeps_events_sent_while_the_monitor_was_away(mqtt_broker, make_event, tmp_path):
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("the embedded amqtt broker does not queue messages for an absent persistent session")
    common = ["--host", mqtt_broker.host, "--port", str(mqtt_broker.port), "--session", "monitor-desk-1", "--quiet"]
    assert main([*common, "--duration", "2"]) == 0  # subscribes under the session, then leaves
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="while-away")
    client.connect(mqtt_broker.host, mqtt_broker.port)
    client.loop_start()
    try:
        client.publish("crackbot/rb-9/events", json.dumps(make_event(robot_id="rb-9")), qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()
    summary = tmp_path / "s.json"
    assert main([*common, "--duration", "2", "--summary", str(summary)]) == 0
    assert json.loads(summary.read_text())["events_received"] == 1


@pytest.mark.parametrize("option", ["--map", "--maps", "--report"])
def test_a_map_without_opencv_is_refused_before_listening(option, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    assert main(["--duration", "30", option, str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err
    assert "need OpenCV" in err and "crackbot[monitor]" in err and len(err.strip().splitlines()) == 1


def test_report_without_opencv_is_one_line(tmp_path, capsys, monkeypatch):
    from monitor.registry import Registry
    from monitor.report import main as report_main

    with Registry(tmp_path / "r.sqlite"):
        pass
    monkeypatch.setitem(sys.modules, "cv2", None)
    assert report_main(["--db", str(tmp_path / "r.sqlite"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "need OpenCV" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "report.html").exists()
