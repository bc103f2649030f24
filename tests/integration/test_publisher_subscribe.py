"""Publisher.subscribe: messages to the robot's own topics reach their handler, also after a broker restart."""
from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt

from edge.config import MqttConfig
from edge.comms.outbox import Outbox
from edge.comms.publisher import Publisher
from tests.helpers import wait_until


def _send(broker, topic, payload) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sender")
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_handler_gets_own_topic_and_survives_restart(mqtt_broker, tmp_path):
    cfg = MqttConfig(host=mqtt_broker.host, port=mqtt_broker.port, reconnect_min_s=0.2, reconnect_max_s=1)
    got = []
    seen = threading.Event()

    def handler(topic, payload):
        got.append((topic, json.loads(payload)))
        seen.set()

    publisher = Publisher(cfg, "rb-sub", Outbox(tmp_path / "outbox.sqlite"))
    topic = publisher.subscribe("cmd/pause/set", handler)
    publisher.start()
    try:
        assert topic == "crackbot/rb-sub/cmd/pause/set"
        assert wait_until(lambda: publisher.connected)
        _send(mqtt_broker, "crackbot/other/cmd/pause/set", json.dumps({"n": 0}))  # another robot's: not ours
        _send(mqtt_broker, topic, json.dumps({"n": 1}))
        assert seen.wait(5)
        assert got == [(topic, {"n": 1})]

        mqtt_broker.restart()
        assert wait_until(lambda: publisher.connected, 20)
        seen.clear()
        _send(mqtt_broker, topic, json.dumps({"n": 2}))
        assert seen.wait(5)
        assert got[-1] == (topic, {"n": 2})
    finally:
        publisher.stop()


def test_robots_draw_their_own_first_reconnect_delay(tmp_path):
    cfg = MqttConfig(host="127.0.0.1", port=1, reconnect_min_s=2.0, reconnect_max_s=30)
    delays = set()
    for i in range(8):
        publisher = Publisher(cfg, f"r{i}", Outbox(tmp_path / f"o{i}.sqlite"))
        assert 2.0 <= publisher.reconnect_min_s <= 3.0
        assert publisher.client._reconnect_min_delay == publisher.reconnect_min_s  # what paho will use
        delays.add(publisher.reconnect_min_s)
    assert len(delays) == 8  # a fleet does not retry in step
