"""The plain availability topic (online / offline, with its own last will) and opt-in Home Assistant discovery."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from edge.comms.outbox import Outbox
from edge.comms.publisher import Publisher
from edge.config import HomeAssistantConfig, MqttConfig
from tests.helpers import wait_until
from tests.integration.helpers import ROOT

# A robot's MQTT side alone, in its own process, so it can be killed without a goodbye.
_LONE_PUBLISHER = """
import sys, time
from edge.comms.outbox import Outbox
from edge.comms.publisher import Publisher
from edge.config import MqttConfig
p = Publisher(MqttConfig(host=sys.argv[1], port=int(sys.argv[2]), keepalive_s=5), "rb-kill", Outbox(sys.argv[3]))
p.start()
time.sleep(120)
"""


def _publisher(tmp_path, broker, robot_id, home_assistant=None) -> Publisher:
    cfg = MqttConfig(host=broker.host, port=broker.port, reconnect_min_s=0.2, reconnect_max_s=1)
    return Publisher(cfg, robot_id, Outbox(tmp_path / f"{robot_id}.sqlite"), home_assistant=home_assistant)


def _availability(collector) -> list[str]:
    return [m.payload.decode() for m in collector.of("availability")]


def test_availability_reads_online_while_running_and_offline_after_a_stop(tmp_path, mqtt_broker, mqtt_collector):
    collector = mqtt_collector(mqtt_broker, "crackbot/rb-av/availability", "crackbot/rb-av/status")
    publisher = _publisher(tmp_path, mqtt_broker, "rb-av")
    publisher.start()
    try:
        assert wait_until(lambda: _availability(collector)[-1:] == ["online"]), _availability(collector)
    finally:
        publisher.stop()
    assert wait_until(lambda: _availability(collector)[-1:] == ["offline"]), _availability(collector)
    assert wait_until(lambda: [p["state"] for p in collector.payloads("status")][-1:] == ["stopped"])  # JSON status


def test_availability_goes_offline_when_the_robot_is_killed(tmp_path, mqtt_broker, mqtt_collector):
    collector = mqtt_collector(mqtt_broker, "crackbot/rb-kill/availability", "crackbot/rb-kill/status")
    robot = subprocess.Popen([sys.executable, "-c", _LONE_PUBLISHER, mqtt_broker.host, str(mqtt_broker.port),
                              str(tmp_path / "o.sqlite")], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: _availability(collector)[-1:] == ["online"], 30), _availability(collector)
        os.kill(robot.pid, signal.SIGKILL)
        robot.wait(10)
        # Both last wills: the plain availability and the JSON status.
        assert wait_until(lambda: _availability(collector)[-1:] == ["offline"], 15), _availability(collector)
        assert wait_until(lambda: collector.payloads("status")[-1]["state"] == "offline", 15)
    finally:
        if robot.poll() is None:
            robot.kill()
            robot.wait()


def test_discovery_configs_appear_only_when_enabled(tmp_path, mqtt_broker, mqtt_collector):
    off = mqtt_collector(mqtt_broker, "homeassistant/#", "crackbot/rb-off/availability")
    publisher = _publisher(tmp_path, mqtt_broker, "rb-off")  # the default: discovery off
    publisher.start()
    try:
        # Configs go out before `online` on the same connection, so once online is here any config would be too.
        assert wait_until(lambda: "online" in _availability(off))
        assert [m.topic for m in off.of() if m.topic.startswith("homeassistant/")] == []
    finally:
        publisher.stop()

    on = mqtt_collector(mqtt_broker, "ha-test/#", "crackbot/rb-ha/availability")
    publisher = _publisher(tmp_path, mqtt_broker, "rb-ha", HomeAssistantConfig(discovery=True,
                                                                                discovery_prefix="ha-test"))
    publisher.start()
    try:
        assert wait_until(lambda: "online" in _availability(on))
        configs = {m.topic: m for m in on.of("config")}
        assert len(configs) == 6
        named = set()
        for topic, message in configs.items():
            assert topic.startswith("ha-test/") and topic.split("/")[2] == "crackbot_rb-ha"
            config = json.loads(message.payload)
            named |= {config.get("state_topic"), config.get("command_topic"), config.get("availability_topic")}
        assert {"crackbot/rb-ha/availability", "crackbot/rb-ha/telemetry", "crackbot/rb-ha/events",
                "crackbot/rb-ha/cmd/pause/set", "crackbot/rb-ha/cmd/resume/set"} <= named

        # A newcomer gets them retained; Home Assistant coming back online gets them again.
        late = mqtt_collector(mqtt_broker, "ha-test/+/+/+/config")
        assert late.wait_for(6) and all(m.retain for m in late.of())
        on.client.publish("ha-test/status", "online", qos=1)
        assert on.wait_for(12, "config")
    finally:
        publisher.stop()
