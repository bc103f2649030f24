"""Both local broker kinds: start, retained messages, last wills, kill and restart on the same port."""
from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys

import paho.mqtt.client as mqtt
import pytest

from monitor import MonitorError
from monitor.broker import find_mosquitto, port_open, start_broker

KINDS = [
    pytest.param("mosquitto", marks=pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto not installed")),
    "embedded",
]


def _client(broker, client_id: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _crash_with_will(broker, client_id: str, will: tuple[str, bytes]) -> None:
    """Connect with a last will, then vanish without a DISCONNECT, as a crashed robot does."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.will_set(*will, qos=1, retain=True)
    client.connect(broker.host, broker.port)
    while not client.is_connected():  # no network thread: nothing will reconnect after the crash
        client.loop(0.05)
    client.socket().close()


def _subscribe(broker, topic: str) -> tuple[mqtt.Client, queue.Queue]:
    got: queue.Queue = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sub-{os.getpid()}-{id(got)}")
    subscribed = queue.Queue()
    client.on_message = lambda c, u, m: got.put((m.topic, m.payload, m.retain))
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *a: subscribed.put(True)
    client.connect(broker.host, broker.port)
    client.loop_start()
    subscribed.get(timeout=10)  # else a message published next may reach the broker before the subscription
    return client, got


def _close(*clients: mqtt.Client) -> None:
    for c in clients:
        c.disconnect()
        c.loop_stop()


@pytest.mark.broker
@pytest.mark.parametrize("kind", KINDS)
def test_broker_kind(kind):
    with start_broker(kind=kind) as broker:
        assert broker.kind == kind and broker.pid and port_open(broker.host, broker.port)
        pub = _client(broker, "pub")
        pub.publish("crackbot/rb-01/status", b"retained", qos=1, retain=True).wait_for_publish(5)
        sub, got = _subscribe(broker, "crackbot/+/status")
        assert got.get(timeout=5) == ("crackbot/rb-01/status", b"retained", True)
        _crash_with_will(broker, "doomed", ("crackbot/rb-09/status", b"offline"))
        assert got.get(timeout=5) == ("crackbot/rb-09/status", b"offline", False)
        _close(pub, sub)

        port, pid = broker.port, broker.pid
        broker.kill()
        assert not broker.running and not port_open(broker.host, port)
        broker.restart()
        assert broker.port == port and broker.pid != pid and port_open(broker.host, port)
        sub, got = _subscribe(broker, "x/y")
        pub = _client(broker, "pub2")
        pub.publish("x/y", b"after restart", qos=1).wait_for_publish(5)
        assert got.get(timeout=5)[1] == b"after restart"
        _close(pub, sub)
    assert not broker.running and not port_open(broker.host, port)


def test_port_in_use_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(MonitorError, match="already in use"):
            start_broker(s.getsockname()[1], kind="embedded")


def test_unknown_kind():
    with pytest.raises(MonitorError, match="unknown broker kind"):
        start_broker(kind="rabbit")


def test_broker_module_help():
    out = subprocess.run([sys.executable, "-m", "monitor.broker", "--help"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and "--port" in out.stdout
