"""Helpers shared by the tests: wait on a condition instead of sleeping, and collect MQTT messages from a broker.

Tests get a collector from the `mqtt_collector` fixture (tests/conftest.py), which closes it afterwards.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Callable, NamedTuple

import paho.mqtt.client as mqtt


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll predicate until it is true or timeout seconds pass; returns its last answer, so
    `assert wait_until(...)` fails only when the condition really did not come."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class Message(NamedTuple):
    topic: str
    payload: bytes
    retain: bool
    qos: int

    @property
    def kind(self) -> str:
        """The topic's last level: events, status, telemetry, state."""
        return self.topic.rsplit("/", 1)[-1]

    def json(self):
        return json.loads(self.payload)


class MessageCollector:
    """A paho client subscribed to some topics that keeps every message it receives, in order.

    It subscribes again after a reconnect; start() returns once the broker has acknowledged the subscription,
    so a message published after start() is not missed.
    """

    def __init__(self, broker, *topics, qos: int = 1, client_id: str | None = None):
        """topics: filters subscribed at qos, or (filter, qos) pairs."""
        self.topics = [topic if isinstance(topic, tuple) else (topic, qos) for topic in topics]
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"collector-{time.monotonic_ns()}")
        self.client.on_connect = lambda c, *a: c.subscribe(self.topics)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self._broker = broker

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append(Message(msg.topic, msg.payload, bool(msg.retain), msg.qos))

    def start(self, timeout: float = 10.0) -> "MessageCollector":
        self.client.connect(self._broker.host, self._broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            raise AssertionError(f"no subscription to {self.topics} within {timeout} s")
        return self

    def of(self, kind: str | None = None) -> list[Message]:
        """The messages so far, those whose topic ends in `kind` when given."""
        with self._lock:
            return [m for m in self.messages if kind is None or m.kind == kind]

    def payloads(self, kind: str | None = None) -> list:
        """The JSON payloads so far, those whose topic ends in `kind` when given."""
        return [m.json() for m in self.of(kind)]

    def wait_for(self, count: int, kind: str | None = None, timeout: float = 10.0) -> bool:
        """Wait until at least count messages (of kind) have arrived."""
        return wait_until(lambda: len(self.of(kind)) >= count, timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> "MessageCollector":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def robot_stopped(collector: MessageCollector) -> bool:
    """A robot's last message, a live (not retained) `stopped` on its status topic, has arrived; so then has
    everything it published before (one client, QoS 1: in order). The collector subscribes to crackbot/<id>/#."""
    live = [m.json()["state"] for m in collector.of("status") if not m.retain]
    return live[-1:] == ["stopped"]
