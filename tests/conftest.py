"""Shared fixtures. A real MQTT broker per test: mosquitto where installed, else the embedded amqtt broker.

CRACKBOT_TEST_BROKER=embedded|mosquitto forces one kind.
"""
from __future__ import annotations

import os
import uuid

import pytest


@pytest.fixture
def mqtt_broker():
    """A started monitor.broker.LocalBroker on a free port (has .host, .port, .kill(), .restart())."""
    from monitor.broker import start_broker

    broker = start_broker(kind=os.environ.get("CRACKBOT_TEST_BROKER", "auto"))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    from monitor.broker import free_port as pick

    return pick()


@pytest.fixture
def make_event():
    """Factory of schema-valid crack events (edge/comms/schemas/event.schema.json); keyword arguments override fields."""

    def make(robot_id: str = "rb-01", crack_id: str = "c-0001", type: str = "new", seq: int = 0,
             ts: float = 1_700_000_000.0, event_id: str | None = None, **overrides):
        event = {
            "schema_version": 1,
            "event_id": event_id or f"{robot_id}:{crack_id}:{seq}:{uuid.uuid4().hex[:8]}",
            "type": type,
            "robot_id": robot_id,
            "crack_id": crack_id,
            "seq": seq,
            "ts": ts,
            "frame": {"index": 10 + seq, "bbox_px": [100, 120, 300, 180], "width": 1280, "height": 720},
            "wall": {"bbox_mm": [1000.0, 500.0, 1400.0, 620.0], "center_mm": [1200.0, 560.0]},
            "length_mm": 410.0,
            "width_max_mm": 0.8,
            "width_mean_mm": 0.5,
            "orientation_deg": 12.0,
            "severity": {"scale": "BRE-Digest-251", "category": 1, "label": "very slight"},
            "confidence": 0.93,
            "model": {"name": "crackseg-int8", "sha256": "ab" * 32},
        }
        event.update(overrides)
        return event

    return make
