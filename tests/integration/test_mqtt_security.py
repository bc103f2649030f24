"""Security against a real mosquitto with its own config: passwords, the per-robot ACL, TLS with a test CA."""
from __future__ import annotations

import json
import shutil
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from edge.config import MqttConfig, MqttTlsConfig, load_config
from edge.comms.outbox import Outbox
from edge.comms.publisher import Publisher
from monitor.broker import find_mosquitto
from monitor.registry import Registry
from monitor.subscriber import Subscriber, TlsFiles
from tests.helpers import wait_until

pytestmark = [pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed (apt install mosquitto)"),
              pytest.mark.broker]


def _publisher(tmp_path, broker, robot, **mqtt_kw) -> Publisher:
    cfg = MqttConfig(host=broker.host, port=broker.port, reconnect_min_s=0.2, reconnect_max_s=1, **mqtt_kw)
    return Publisher(cfg, robot, Outbox(tmp_path / f"outbox-{robot}-{time.monotonic_ns()}.sqlite"))


@pytest.fixture
def secured(tmp_path):
    from monitor.secure_broker import SecureBroker, write_setup

    setup = write_setup(tmp_path / "sec", ["rb-a", "rb-b"])
    with SecureBroker(setup) as broker:
        yield broker, setup


@pytest.fixture
def monitor_of(tmp_path):
    subs = []

    def start(broker, setup, **kw) -> Subscriber:
        sub = Subscriber(broker.host, broker.port, Registry(), username="monitor",
                         password=setup.passwords["monitor"], reconnect_min_s=0.2, reconnect_max_s=1, **kw)
        subs.append(sub.start())
        assert sub.wait_connected(10), sub.last_error
        return sub

    yield start
    for sub in subs:
        sub.stop()


def test_wrong_password_is_refused_and_the_event_waits(tmp_path, secured, make_event):
    broker, setup = secured
    pub = _publisher(tmp_path, broker, "rb-a", username="rb-a", password="not-the-password")
    pub.publish_event(make_event(robot_id="rb-a"))
    pub.start()
    try:
        assert wait_until(lambda: pub.last_error is not None)
        assert "not authorized" in pub.last_error.lower() or "bad user name" in pub.last_error.lower()
        assert not pub.connected
        assert len(pub.outbox) == 1 and pub.acked == 0  # refused, not lost
    finally:
        pub.stop()

    anonymous = _publisher(tmp_path, broker, "rb-a")
    anonymous.start()
    try:
        assert wait_until(lambda: anonymous.last_error is not None)
        assert not anonymous.connected
    finally:
        anonymous.stop()


def test_password_from_the_environment_connects(tmp_path, secured, monitor_of, make_event, monkeypatch):
    broker, setup = secured
    monkeypatch.setenv("CRACKBOT_MQTT_USER", "rb-a")
    monkeypatch.setenv("CRACKBOT_MQTT_PASSWORD", setup.passwords["rb-a"])
    config = tmp_path / "robot.yaml"
    config.write_text("robot_id: rb-a\ncamera: {type: sim}\n"
                      f"mqtt: {{host: {broker.host}, port: {broker.port}, reconnect_min_s: 0.2,\n"
                      "       username: '${CRACKBOT_MQTT_USER}', password: '${CRACKBOT_MQTT_PASSWORD}'}\n")
    cfg = load_config(config)
    assert cfg.mqtt.password == setup.passwords["rb-a"]
    sub = monitor_of(broker, setup)
    pub = Publisher(cfg.mqtt, "rb-a", Outbox(tmp_path / "o.sqlite"))
    event = make_event(robot_id="rb-a")
    pub.publish_event(event)
    pub.start()
    try:
        assert wait_until(lambda: pub.acked == 1)
        assert wait_until(lambda: sub.registry.has_event(event["event_id"]))
    finally:
        pub.stop()


def test_acl_robot_a_cannot_write_robot_b_topics(tmp_path, secured, monitor_of, make_event):
    broker, setup = secured
    sub = monitor_of(broker, setup)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rb-a-raw")
    client.username_pw_set("rb-a", setup.passwords["rb-a"])
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        forged = make_event(robot_id="rb-b", crack_id="forged")
        client.publish("crackbot/rb-b/events", json.dumps(forged), qos=1).wait_for_publish(5)
        client.publish("crackbot/rb-b/status", json.dumps(
            {"schema_version": 1, "robot_id": "rb-b", "state": "stopped", "ts": 1.0}), qos=1, retain=True
        ).wait_for_publish(5)
        own = make_event(robot_id="rb-a", crack_id="own")
        client.publish("crackbot/rb-a/events", json.dumps(own), qos=1).wait_for_publish(5)
        # One connection's messages arrive in order: once its own event is in, the forged one would be too.
        assert wait_until(lambda: sub.registry.has_event(own["event_id"]))
        assert not sub.registry.has_event(forged["event_id"])
        assert "rb-b" not in sub.status()
        assert sub.summary()["events_received"] == 1
    finally:
        client.disconnect()
        client.loop_stop()


def test_robot_reads_its_own_commands_only(tmp_path, secured):
    broker, setup = secured
    got = []
    pub_a = _publisher(tmp_path, broker, "rb-a", username="rb-a", password=setup.passwords["rb-a"])
    pub_a.subscribe("cmd/pause/set", lambda t, p: got.append(t))
    pub_a.start()
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="mon-cmd")
    sender.username_pw_set("monitor", setup.passwords["monitor"])
    sender.connect(broker.host, broker.port)
    sender.loop_start()
    spy = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rb-a-spy")
    spy.username_pw_set("rb-a", setup.passwords["rb-a"])
    spied, subscribed = [], threading.Event()
    spy.on_message = lambda c, u, m: spied.append(m.topic)
    spy.on_subscribe = lambda *a: subscribed.set()
    spy.connect(broker.host, broker.port)
    # rb-b's subtree, and rb-a's own pause topic: the second message tells that the first was not delivered
    spy.subscribe([("crackbot/rb-b/#", 1), ("crackbot/rb-a/cmd/pause/set", 1)])
    spy.loop_start()
    try:
        assert wait_until(lambda: pub_a.connected) and subscribed.wait(5)
        sender.publish("crackbot/rb-b/cmd/pause/set", b"", qos=1).wait_for_publish(5)
        sender.publish("crackbot/rb-a/cmd/pause/set", b"", qos=1).wait_for_publish(5)
        assert wait_until(lambda: got == ["crackbot/rb-a/cmd/pause/set"])
        assert wait_until(lambda: spied)
        assert spied == ["crackbot/rb-a/cmd/pause/set"]  # rb-a may not read rb-b's subtree either
    finally:
        for c in (sender, spy):
            c.disconnect()
            c.loop_stop()
        pub_a.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make the test CA")
def test_tls_with_the_test_ca_works_and_a_wrong_ca_is_refused(tmp_path, monitor_of, make_event):
    from monitor.secure_broker import SecureBroker, make_ca, write_setup

    setup = write_setup(tmp_path / "sec", ["rb-t"], tls=True, client_certs=True)
    tls_dir = setup.ca_cert.parent
    with SecureBroker(setup) as broker:
        sub = monitor_of(broker, setup, tls=TlsFiles(str(setup.ca_cert), str(tls_dir / "monitor.pem"),
                                                     str(tls_dir / "monitor.key")))
        good = MqttTlsConfig(ca_certs=str(setup.ca_cert), certfile=str(tls_dir / "rb-t.pem"),
                             keyfile=str(tls_dir / "rb-t.key"))
        pub = _publisher(tmp_path, broker, "rb-t", username="rb-t", password=setup.passwords["rb-t"], tls=good)
        event = make_event(robot_id="rb-t")
        pub.publish_event(event)
        pub.start()
        try:
            assert wait_until(lambda: pub.acked == 1), pub.last_error
            assert wait_until(lambda: sub.registry.has_event(event["event_id"]))
        finally:
            pub.stop()

        wrong_ca, _ = make_ca(tmp_path / "other", name="stranger-ca")
        bad = MqttTlsConfig(ca_certs=str(wrong_ca), certfile=str(tls_dir / "rb-t.pem"),
                            keyfile=str(tls_dir / "rb-t.key"))
        pub = _publisher(tmp_path, broker, "rb-t", username="rb-t", password=setup.passwords["rb-t"], tls=bad)
        pub.publish_event(make_event(robot_id="rb-t"))
        pub.start()
        try:
            assert wait_until(lambda: pub.last_error is not None)
            assert "CERTIFICATE_VERIFY_FAILED" in pub.last_error
            assert not pub.connected and len(pub.outbox) == 1
        finally:
            pub.stop()

        no_client_cert = MqttTlsConfig(ca_certs=str(setup.ca_cert))
        pub = _publisher(tmp_path, broker, "rb-t", username="rb-t", password=setup.passwords["rb-t"],
                         tls=no_client_cert)
        pub.start()
        try:
            assert wait_until(lambda: pub.last_error is not None)
            assert not pub.connected
        finally:
            pub.stop()


def test_missing_tls_file_is_a_config_error(tmp_path):
    from edge.errors import ConfigError

    cfg = MqttConfig(tls=MqttTlsConfig(ca_certs=str(tmp_path / "absent.pem")))
    with pytest.raises(ConfigError, match="mqtt.tls: cannot read"):
        Publisher(cfg, "rb-x", Outbox(tmp_path / "o.sqlite"))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make the test CA")
def test_monitor_program_over_tls_with_a_password(tmp_path, make_event):
    import os
    import subprocess
    import sys

    from monitor.secure_broker import SecureBroker, write_setup
    from tests.integration.helpers import ROOT

    setup = write_setup(tmp_path / "sec", ["rb-t"], tls=True, client_certs=True)
    tls_dir = setup.ca_cert.parent
    with SecureBroker(setup) as broker:
        env = dict(os.environ, CRACKBOT_MQTT_PASSWORD=setup.passwords["monitor"])
        monitor = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--host", broker.host, "--port", str(broker.port), "--robot", "rb-t",
             "--username", "monitor", "--cafile", str(setup.ca_cert), "--certfile", str(tls_dir / "monitor.pem"),
             "--keyfile", str(tls_dir / "monitor.key"), "--until-stopped", "--duration", "60",
             "--summary", str(tmp_path / "s.json"), "-v"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                line = monitor.stderr.readline()
                if "subscribed to" in line or not line:
                    break
            tls = MqttTlsConfig(ca_certs=str(setup.ca_cert), certfile=str(tls_dir / "rb-t.pem"),
                                keyfile=str(tls_dir / "rb-t.key"))
            pub = _publisher(tmp_path, broker, "rb-t", username="rb-t", password=setup.passwords["rb-t"], tls=tls)
            pub.publish_event(make_event(robot_id="rb-t"))
            pub.start()
            try:
                assert pub.drain(10), pub.last_error
            finally:
                pub.stop()  # its live `stopped` ends the monitor
            _, err = monitor.communicate(timeout=30)
        finally:
            if monitor.poll() is None:
                monitor.kill()
                monitor.wait()
    assert monitor.returncode == 0, err[-2000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["events_received"] == 1 and summary["stopped"] == ["rb-t"]


def test_mqtt5_a_refused_event_stays_in_the_outbox(tmp_path, secured, monitor_of, make_event):
    broker, setup = secured
    sub = monitor_of(broker, setup)
    # Right credentials, wrong robot id: the ACL lets rb-a write only under crackbot/rb-a/.
    pub = _publisher(tmp_path, broker, "rb-b", username="rb-a", password=setup.passwords["rb-a"], protocol="5")
    event = make_event(robot_id="rb-b")
    pub.publish_event(event)
    pub.start()
    try:
        assert wait_until(lambda: pub.refused_rows)
        assert "Not authorized" in pub.last_error
        assert pub.acked == 0 and pub.outbox.count() == 1  # kept for the next start, not lost
        assert pub.drain(5) is False  # the exit path reports it rather than waiting forever
    finally:
        pub.stop()
    assert not sub.registry.has_event(event["event_id"])

    good = _publisher(tmp_path, broker, "rb-a", username="rb-a", password=setup.passwords["rb-a"], protocol="5")
    event = make_event(robot_id="rb-a")
    good.publish_event(event)
    good.start()
    try:
        assert wait_until(lambda: good.acked == 1) and not good.refused_rows
        assert wait_until(lambda: sub.registry.has_event(event["event_id"]))
    finally:
        good.stop()
