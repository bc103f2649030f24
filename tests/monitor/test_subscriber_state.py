"""The subscriber keeps each robot's last telemetry and command answers (for the live table)."""
from __future__ import annotations

import json
import time

import paho.mqtt.client as mqtt

from monitor.live import render_table
from monitor.registry import Registry
from monitor.subscriber import Subscriber, topic_parts
from tests.helpers import wait_until


def test_topic_kinds():
    assert topic_parts("crackbot/rb-1/cmd/pause/state") == ("rb-1", "command_state")
    assert topic_parts("site/a/rb-1/telemetry", "site/a") == ("rb-1", "telemetry")


def test_telemetry_and_command_answers_reach_the_summary(mqtt_broker):
    sub = Subscriber(mqtt_broker.host, mqtt_broker.port, Registry())
    sub.start()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="state-sender")
    client.connect(mqtt_broker.host, mqtt_broker.port)
    client.loop_start()
    try:
        assert sub.wait_connected(5)

        def send(topic, data):
            payload = data if isinstance(data, bytes) else json.dumps(data)
            client.publish(topic, payload, qos=1).wait_for_publish(5)

        now = time.time()
        send("crackbot/rb-1/status", {"schema_version": 1, "robot_id": "rb-1", "state": "online", "ts": now})
        send("crackbot/rb-1/telemetry", {"schema_version": 1, "robot_id": "rb-1", "ts": now, "fps": 12.5, "frames": 40,
                                         "frames_dropped": 1, "latency_ms": {"classify": 30.0}, "outbox_backlog": 3})
        send("crackbot/rb-1/cmd/pause/state", {"schema_version": 1, "robot_id": "rb-1", "ts": now, "command": "pause",
                                               "accepted": True, "paused": True, "threshold": 0.5})
        send("crackbot/rb-1/telemetry", {"fps": "fast"})  # counted as invalid, the last good one stays
        assert wait_until(lambda: sub.summary()["invalid"] == 1)
        summary = sub.summary()
        assert summary["telemetry"]["rb-1"]["fps"] == 12.5 and summary["telemetry"]["rb-1"]["outbox_backlog"] == 3
        assert summary["controls"]["rb-1"]["paused"] is True
        assert summary["invalid_by_reason"] == {"schema": 1}
        assert "rb-1 online 12.5 fps backlog 3 PAUSED" in render_table([], summary)
    finally:
        client.disconnect()
        client.loop_stop()
        sub.stop()
