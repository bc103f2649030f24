"""Shared fixtures and the test tiers.

A real MQTT broker per test: mosquitto where installed, else the embedded amqtt broker.
CRACKBOT_TEST_BROKER=embedded|mosquitto forces one kind.

Markers (setup.cfg [tool:pytest]), applied here where the test's place or fixtures say it:
integration (under tests/integration) or else unit; broker (uses the mqtt_broker or mqtt_collector fixture;
tests that start their own broker carry the marker in their file); tf and slow are written in the test files.
`--without-tf` runs as in the device venv: importing tensorflow or keras fails (make test-fast uses it).
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
BROKER_FIXTURES = {"mqtt_broker", "mqtt_collector"}


def pytest_addoption(parser):
    parser.addoption("--without-tf", action="store_true",
                     help="importing tensorflow or keras fails, as in the device venv: a test that needs them "
                          "and is not marked tf shows up")


def pytest_configure(config):
    if config.getoption("--without-tf"):
        for name in ("tensorflow", "keras"):
            sys.modules[name] = None  # any import of it now raises ImportError


def pytest_collection_modifyitems(config, items):
    integration = TESTS / "integration"
    for item in items:
        item.add_marker(pytest.mark.integration if integration in item.path.parents else pytest.mark.unit)
        if BROKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.broker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that failed for want of TensorFlow and is not marked tf says how to fix it."""
    outcome = yield
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(ImportError) \
            and (getattr(excinfo.value, "name", None) or "").split(".")[0] in ("tensorflow", "keras") \
            and item.get_closest_marker("tf") is None:
        outcome.get_result().sections.append(
            ("tf marker", f"{item.nodeid} needs TensorFlow: mark it @pytest.mark.tf (or its module: pytestmark)"))


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
    """Factory of schema-valid crack events (edge/comms/schemas/event.schema.json); keyword arguments "
    "override fields."""

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


@pytest.fixture
def mqtt_collector():
    """Factory: mqtt_collector(broker, topic, ...) is a started tests.helpers.MessageCollector (subscribed to the
    topic filters, or (filter, qos) pairs), closed after the test."""
    from tests.helpers import MessageCollector

    started = []

    def make(broker, *topics, qos: int = 1, client_id: str | None = None) -> MessageCollector:
        collector = MessageCollector(broker, *topics, qos=qos, client_id=client_id).start()
        started.append(collector)
        return collector

    yield make
    for collector in started:
        collector.close()
