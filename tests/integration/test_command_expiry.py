"""Commands that waited at the broker while the robot was off: applied only within their expiry (the payload's
sent_at under MQTT 3.1.1, the broker's message expiry under MQTT 5); monitor.command says what became of one."""
from __future__ import annotations

import json
import re
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.comms.commands import CommandHandler, RobotControls
from edge.comms.expiry import ExpiryRules
from edge.comms.outbox import Outbox
from edge.comms.publisher import Publisher
from edge.config import MqttConfig
from tests.helpers import wait_until


class _Robot:
    """The command side of a robot: publisher, controls and handler, started and stopped like the real one."""

    def __init__(self, tmp_path, broker, robot_id: str, protocol: str = "3.1.1", clock=time.time):
        cfg = MqttConfig(host=broker.host, port=broker.port, reconnect_min_s=0.2, reconnect_max_s=1,
                         protocol=protocol)
        self.publisher = Publisher(cfg, robot_id, Outbox(tmp_path / f"{robot_id}-{time.monotonic_ns()}.sqlite"))
        self.controls = RobotControls(threshold=0.5)
        self.handler = CommandHandler(self.controls, self.publisher, robot_id, ExpiryRules(max_age_s=60), clock)
        self.handler.attach()

    def start(self) -> "_Robot":
        self.publisher.start()
        assert wait_until(lambda: self.publisher.connected, 10), "the robot did not connect"
        return self

    def stop(self) -> None:
        self.publisher.stop()


def _send_while_away(broker, robot_id: str, requests, protocol: str) -> None:
    """Publish (command, payload, message expiry s or None) at QoS 1 and wait for the broker's acknowledgements."""
    v5 = protocol == "5"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"station-{time.monotonic_ns()}",
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for command, payload, expiry in requests:
            properties = None
            if expiry is not None:
                properties = Properties(PacketTypes.PUBLISH)
                properties.MessageExpiryInterval = expiry
            client.publish(f"crackbot/{robot_id}/cmd/{command}/set", json.dumps(payload), qos=1,
                           properties=properties).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_command_that_waited_past_its_expiry_is_not_applied(tmp_path, mqtt_broker, mqtt_collector, protocol):
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("the embedded amqtt broker does not queue messages for an absent persistent session")
    robot_id = f"rb-away-{protocol.replace('.', '')}"
    _Robot(tmp_path, mqtt_broker, robot_id, protocol).start().stop()  # its session now holds the subscriptions
    if protocol == "3.1.1":  # no message expiry: the robot judges sent_at and expiry_s
        stale = ("pause", {"request_id": "stale", "sent_at": time.time(), "expiry_s": 1}, None)
        fresh = ("threshold", {"value": 0.7, "request_id": "fresh", "sent_at": time.time(), "expiry_s": 60}, None)
    else:  # no sent_at at all: only the broker's message expiry stops the stale one
        stale = ("pause", {"request_id": "stale"}, 1)
        fresh = ("threshold", {"value": 0.7, "request_id": "fresh"}, 60)
    _send_while_away(mqtt_broker, robot_id, [stale, fresh], protocol)
    time.sleep(2.2)  # past the stale one's 1 s expiry (MQTT 5 expiry is in whole seconds)

    robot = _Robot(tmp_path, mqtt_broker, robot_id, protocol).start()
    try:
        # The fresh request queued behind the stale one arrives and is applied: the queue was delivered.
        assert wait_until(lambda: robot.controls.threshold == 0.7, 10), "the queued fresh request never arrived"
        assert not robot.controls.paused
        collector = mqtt_collector(mqtt_broker, f"crackbot/{robot_id}/cmd/pause/state")
        assert collector.wait_for(1)
        pause_state = collector.payloads()[-1]  # retained: what anyone looking now sees
        assert pause_state["paused"] is False
        if protocol == "3.1.1":
            assert robot.handler.refused == 1
            assert pause_state["accepted"] is False and pause_state["reason"] == "expired"
            assert pause_state["request_id"] == "stale"
            assert re.fullmatch(r"expired: sent \d+\.\d s ago, its limit is 1 s", pause_state["error"])
        else:
            assert robot.handler.refused == 0  # the broker dropped it: the robot never saw it
            assert pause_state.get("request_id") != "stale"
        assert robot.handler.accepted == 1
    finally:
        robot.stop()


def test_command_program_says_queued_applied_refused_and_dropped(tmp_path, mqtt_broker, capsys):
    from monitor.command import main as command_main

    base = ["--host", mqtt_broker.host, "--port", str(mqtt_broker.port)]
    _Robot(tmp_path, mqtt_broker, "rb-q").start().stop()  # known to the broker, now off

    # 3 s: the robot is away, so the program waits it out; the retained availability comes within it even
    # on a loaded machine (1 s was once too short)
    assert command_main(["rb-q", "pause", *base, "--timeout", "3", "--expiry", "60"]) == 3
    out = capsys.readouterr().out
    assert "rb-q: pause queued: the broker took it but rb-q did not answer within 3 s" in out
    assert "(its availability: offline)" in out and "within 60 s of sending" in out

    robot = _Robot(tmp_path, mqtt_broker, "rb-q").start()
    try:
        if mqtt_broker.kind == "mosquitto":  # the embedded broker does not queue for an absent session
            assert wait_until(lambda: robot.controls.paused, 10), "the queued pause was not applied on coming back"
        assert command_main(["rb-q", "resume", *base]) == 0
        assert "rb-q: resume applied; now paused=False threshold=0.5" in capsys.readouterr().out
    finally:
        robot.stop()

    # A robot whose clock is 2 minutes ahead of the station: a 60 s request looks expired to it.
    robot = _Robot(tmp_path, mqtt_broker, "rb-q", clock=lambda: time.time() + 120).start()
    try:
        assert command_main(["rb-q", "pause", *base, "--expiry", "60"]) == 1
        assert "rb-q: pause refused: expired: sent 120." in capsys.readouterr().out
        assert not robot.controls.paused
    finally:
        robot.stop()

    if mqtt_broker.kind == "mosquitto":  # MQTT 5: the broker tells that no session subscribes to it
        assert command_main(["rb-never-seen", "pause", *base, "--protocol", "5", "--timeout", "1"]) == 4
        assert "rb-never-seen: pause dropped: the broker has no subscriber for it" in capsys.readouterr().out
