"""The subscriber against a real broker: validation, dedupe, status, reconnects."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import threading

import paho.mqtt.client as mqtt
import pytest

from monitor.broker import start_broker
from monitor.registry import Registry
from monitor.subscriber import MAX_PAYLOAD_BYTES, InvalidPayload, Subscriber, parse_payload
from tests.helpers import wait_until


@contextlib.contextmanager
def publisher(broker, client_id: str = "test-pub"):
    """A connected paho client; publish() waits for the broker's ack."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def publish(client, topic: str, payload, retain: bool = False) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    client.publish(topic, data, qos=1, retain=retain).wait_for_publish(5)


def status(robot: str, state: str, ts: float = 1_700_000_000.0) -> dict:
    return {"schema_version": 1, "robot_id": robot, "state": state, "ts": ts}


@pytest.fixture
def listening(mqtt_broker):
    """A started Subscriber on the fixture broker, its registry and the (event, is_new_crack) calls."""
    seen: list[tuple[dict, bool]] = []
    registry = Registry()
    sub = Subscriber(mqtt_broker.host, mqtt_broker.port, registry,
                     on_event=lambda e, new: seen.append((e, new)), reconnect_min_s=0.1, reconnect_max_s=1)
    sub.start()
    assert sub.wait_connected(5)
    yield sub, registry, seen
    sub.stop()
    registry.close()


def test_valid_duplicate_and_malformed_payloads(mqtt_broker, listening, make_event, caplog):
    sub, registry, seen = listening
    caplog.set_level(logging.WARNING, logger="monitor.subscriber")
    topic = "crackbot/rb-01/events"
    first = make_event()
    wrong_schema = make_event()
    del wrong_schema["confidence"]
    with publisher(mqtt_broker) as pub:
        publish(pub, topic, first)
        publish(pub, topic, first)                                   # a QoS 1 re-send
        publish(pub, topic, b"\x00\xffnot json at all")
        publish(pub, topic, {"hello": "world"})
        publish(pub, topic, wrong_schema)
        publish(pub, topic, b"{" + b" " * (300 * 1024) + b"}")      # over the size limit
        publish(pub, topic, make_event(robot_id="rb-02"))            # topic says rb-01
        second = make_event(type="update", seq=1, ts=1_700_000_001.0)
        publish(pub, topic, second)                                  # still receiving
        publish(pub, "crackbot/rb-01/events", make_event(crack_id="c-0002"))
        assert wait_until(lambda: sub.summary()["events_received"] == 3 and sub.summary()["invalid"] == 5)

    summary = sub.summary()
    assert summary["duplicates_dropped"] == 1
    assert summary["messages"] == 9
    assert summary["cracks"] == 2 and summary["robots"] == ["rb-01"]
    assert summary["events_by_type"] == {"new": 2, "update": 1, "end": 0}
    assert [(e["event_id"], new) for e, new in seen] == [
        (first["event_id"], True), (second["event_id"], False), (seen[2][0]["event_id"], True)]
    assert registry.crack("rb-01", "c-0001")["state"] == "updated"
    # One log line per bad payload, naming the topic and the reason.
    reasons = [r.getMessage() for r in caplog.records if "invalid payload" in r.getMessage()]
    assert len(reasons) == 5 and all(topic in r for r in reasons)
    assert any("not JSON" in r for r in reasons)
    assert any("confidence" in r for r in reasons)
    assert any("byte limit" in r for r in reasons)
    assert any("does not match the topic" in r for r in reasons)


def test_hook_errors_do_not_stop_the_subscriber(mqtt_broker, make_event, caplog):
    registry = Registry()

    def bad_hook(event, is_new):
        raise RuntimeError("printer on fire")

    with Subscriber(mqtt_broker.host, mqtt_broker.port, registry, on_event=bad_hook) as sub:
        assert sub.wait_connected(5)
        with publisher(mqtt_broker) as pub:
            publish(pub, "crackbot/rb-01/events", make_event(crack_id="a"))
            publish(pub, "crackbot/rb-01/events", make_event(crack_id="b"))
            assert wait_until(lambda: sub.summary()["events_received"] == 2)
    assert "printer on fire" in caplog.text


def test_status_retained_versus_live(mqtt_broker, make_event):
    with publisher(mqtt_broker, "old-run") as pub:
        publish(pub, "crackbot/rb-01/status", status("rb-01", "stopped", 1.0), retain=True)
    registry = Registry()
    with Subscriber(mqtt_broker.host, mqtt_broker.port, registry) as sub:
        assert sub.wait_connected(5)
        assert wait_until(lambda: "rb-01" in sub.status())
        assert sub.status()["rb-01"].live is False
        assert sub.wait_until_stopped(timeout=0.3) is False  # an earlier run's stop does not count

        # A robot that dies leaves its will: a live status, but not a stop.
        robot = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rb-02")
        robot.will_set("crackbot/rb-02/status", json.dumps(status("rb-02", "offline")), qos=1, retain=True)
        robot.connect(mqtt_broker.host, mqtt_broker.port)
        info = robot.publish("crackbot/rb-02/status", json.dumps(status("rb-02", "online", 2.0)), qos=1, retain=True)
        while not info.is_published():  # driven by hand: no network thread left to reconnect after the crash
            robot.loop(0.05)
        robot.socket().close()  # crash: no DISCONNECT, so the broker sends the will
        assert wait_until(lambda: sub.status().get("rb-02") and sub.status()["rb-02"].state == "offline")
        assert not sub.wait_until_stopped(timeout=0)

        with publisher(mqtt_broker, "rb-01") as pub:
            publish(pub, "crackbot/rb-01/status", status("rb-01", "online", 3.0), retain=True)
            publish(pub, "crackbot/rb-01/status", status("rb-01", "stopped", 4.0), retain=True)
        assert sub.wait_until_stopped(timeout=5)
        assert sub.wait_until_stopped(["rb-01"], timeout=0)
        assert not sub.wait_until_stopped(["rb-01", "rb-02"], timeout=0.2)
        assert sub.status()["rb-01"].live and sub.stopped_robots() == {"rb-01"}
    assert {r["robot_id"]: r["state"] for r in registry.robots()} == {"rb-01": "stopped", "rb-02": "offline"}


@pytest.mark.broker
def test_waits_for_the_broker_and_survives_a_restart(free_port, make_event):
    registry = Registry()
    sub = Subscriber("127.0.0.1", free_port, registry, reconnect_min_s=0.1, reconnect_max_s=0.5)
    sub.start()
    try:
        assert not sub.wait_connected(0.3)  # nothing there yet: it keeps trying
        broker = start_broker(free_port, kind=os.environ.get("CRACKBOT_TEST_BROKER", "auto"))
        try:
            assert sub.wait_connected(5)
            broker.kill()
            assert wait_until(lambda: not sub.connected)
            broker.restart()
            assert wait_until(lambda: sub.connected and sub.summary()["connects"] == 2, 10)
            with publisher(broker) as pub:  # subscriptions were renewed on reconnect
                publish(pub, "crackbot/rb-01/events", make_event())
            assert wait_until(lambda: sub.summary()["events_received"] == 1)
        finally:
            broker.stop()
    finally:
        sub.stop()


def test_one_robot_only(mqtt_broker, make_event):
    with Subscriber(mqtt_broker.host, mqtt_broker.port, Registry(), robot_id="rb-07") as sub:
        assert sub.wait_connected(5)
        with publisher(mqtt_broker) as pub:
            publish(pub, "crackbot/rb-08/events", make_event(robot_id="rb-08"))
            publish(pub, "crackbot/rb-07/events", make_event(robot_id="rb-07"))
        # rb-08's event was sent first, by the same client: had it been taken, it would be counted by now
        assert wait_until(lambda: sub.summary()["events_received"] == 1)
        assert sub.summary()["robots"] == ["rb-07"]


def test_parse_payload_reasons(make_event):
    event = make_event()
    assert parse_payload("crackbot/rb-01/events", json.dumps(event).encode(), "event") == event
    cases = {
        b"[1, 2": "not JSON",
        json.dumps(dict(event, type="exploded")).encode(): "at type",
        json.dumps(dict(event, robot_id="x")).encode(): "does not match",
        b" " * (MAX_PAYLOAD_BYTES + 1): "byte limit",
    }
    for payload, reason in cases.items():
        with pytest.raises(InvalidPayload, match=reason):
            parse_payload("crackbot/rb-01/events", payload, "event")
    with pytest.raises(InvalidPayload, match="unexpected topic"):
        parse_payload("elsewhere/rb-01", json.dumps(event).encode(), "event")


def test_summary_is_safe_to_read_while_messages_arrive(mqtt_broker, listening, make_event):
    sub, registry, _ = listening
    stop = threading.Event()
    reads = []

    def reader():
        while not stop.is_set():
            reads.append(sub.summary()["events_received"])
            registry.cracks()

    t = threading.Thread(target=reader)
    t.start()
    try:
        with publisher(mqtt_broker) as pub:
            for i in range(50):
                pub.publish("crackbot/rb-01/events", json.dumps(make_event(crack_id=f"c{i}")), qos=1)
            assert wait_until(lambda: sub.summary()["events_received"] == 50)
    finally:
        stop.set()
        t.join()
    assert reads == sorted(reads) and len(registry.cracks()) == 50
