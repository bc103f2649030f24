"""The subscriber program (python -m monitor, a real process) against garbage on a real broker."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import paho.mqtt.client as mqtt

from monitor.subscriber import MAX_PAYLOAD_BYTES
from tests.integration.helpers import ROOT


def test_garbage_is_counted_and_the_monitor_keeps_going(mqtt_broker, make_event, tmp_path):
    summary = tmp_path / "summary.json"
    monitor = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--host", mqtt_broker.host, "--port", str(mqtt_broker.port),
         "--robot", "rb-g", "--until-stopped", "--duration", "60", "--db", str(tmp_path / "reg.sqlite"),
         "--summary", str(summary), "--csv", str(tmp_path / "cracks.csv"), "--report", str(tmp_path / "report.html"),
         "--quiet", "-v"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="garbage-sender")
    client.connect(mqtt_broker.host, mqtt_broker.port)
    client.loop_start()
    try:
        # The monitor logs "subscribed" once it listens; read stderr until then.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = monitor.stderr.readline()
            if "subscribed to" in line or not line:
                break
        topic = "crackbot/rb-g/events"
        garbage = [
            b"\x00\x01 not json at all",
            json.dumps({"hello": "world"}).encode(),                                   # wrong schema
            json.dumps(make_event(robot_id="rb-g", severity="high")).encode(),         # wrong schema, deeper
            b"{" + b" " * (MAX_PAYLOAD_BYTES + 10) + b"}",                              # huge
            json.dumps(make_event(robot_id="someone-else")).encode(),                  # robot id not the topic's
            b"[" * 100_000 + b"]" * 100_000,                                            # too deep to parse
            json.dumps(make_event(robot_id="rb-g", ts=float("nan"))).encode(),         # NaN: not JSON
            json.dumps(make_event(robot_id="rb-g", ts=1e20)).encode(),                 # broke the CSV writer
            json.dumps(make_event(robot_id="rb-g", crack_id="c-far",                   # hung the map's grid
                                  wall={"bbox_mm": [0.0, 0.0, 1e308, 1e308], "center_mm": None})).encode(),
        ]
        for payload in garbage:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        good = make_event(robot_id="rb-g", crack_id="c-good")
        for _ in range(2):  # a re-send: dropped as a duplicate
            client.publish(topic, json.dumps(good), qos=1).wait_for_publish(5)
        client.publish("crackbot/rb-g/status", json.dumps(
            {"schema_version": 1, "robot_id": "rb-g", "state": "stopped", "ts": time.time()}),
            qos=1).wait_for_publish(5)
        out, err = monitor.communicate(timeout=60)
    finally:
        client.disconnect()
        client.loop_stop()
        if monitor.poll() is None:
            monitor.kill()
            monitor.wait()
    assert monitor.returncode == 0, err[-2000:]
    result = json.loads(summary.read_text())
    assert result["invalid"] == len(garbage)
    assert result["invalid_by_reason"] == {"not_json": 3, "schema": 4, "too_large": 1, "wrong_robot": 1}
    assert (result["events_received"], result["duplicates_dropped"], result["cracks"]) == (1, 1, 1)
    assert err.count("invalid payload on crackbot/rb-g/events") == len(garbage)
    assert "Traceback" not in err
    assert "c-good" in (tmp_path / "cracks.csv").read_text() and "c-good" in (tmp_path / "report.html").read_text()
