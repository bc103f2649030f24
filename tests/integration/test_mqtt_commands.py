"""Commands to the robot: pause, resume, threshold on .../cmd/<name>/set, answered on .../cmd/<name>/state."""
from __future__ import annotations

import json
import queue
import time

import paho.mqtt.client as mqtt
import pytest

from edge.comms.commands import CommandError, CommandHandler, RobotControls, parse_request
from edge.config import MqttConfig
from edge.comms.outbox import Outbox
from edge.comms.publisher import Publisher
from edge.comms.schemas import validator
from tests.helpers import wait_until


@pytest.mark.parametrize("command, payload, reason", [
    ("threshold", b'{"value": 1.5}', "greater than the maximum"),
    ("threshold", b"-0.1", "less than the minimum"),
    ("threshold", b"NaN", "not a number"),
    ("threshold", b"", "needs a value"),
    ("threshold", b'"0.5"', "JSON object or a number"),
    ("threshold", b"true", "JSON object or a number"),
    ("threshold", b"{not json", "not JSON"),
    ("threshold", b'{"value": 0.5, "colour": "red"}', "Additional properties"),
    ("pause", b'{"value": 1}', "takes no value"),
    ("pause", b"x" * 5000, "byte limit"),
    ("reboot", b"", "unknown command"),
    ("threshold", b"[" * 3000, "nested too deeply"),
    ("threshold", b'{"value": ' + b"[" * 4000, "nested too deeply|byte limit"),
])
def test_bad_requests_are_refused_with_a_reason(command, payload, reason):
    with pytest.raises(CommandError, match=reason):
        parse_request(command, payload)


def test_good_requests():
    assert parse_request("threshold", b"0.25").value == 0.25
    request = parse_request("threshold", b'{"value": 1, "request_id": "op-7"}')
    assert (request.value, request.request_id) == (1.0, "op-7")
    assert parse_request("pause", b"").value is None
    assert parse_request("resume", b'{"request_id": "r"}').request_id == "r"


def test_controls_refuse_out_of_range_thresholds():
    controls = RobotControls(0.5)
    with pytest.raises(CommandError):
        controls.set_threshold(1.01)
    assert controls.threshold == 0.5
    controls.pause()
    assert not controls.wait_resumed(timeout=0.01)
    controls.resume()
    assert controls.wait_resumed(timeout=0.01)


class _Operator:
    """A paho client that sends requests and collects the robot's answers from the state topics."""

    def __init__(self, broker, robot, name: str = "operator"):
        self.robot = robot
        self.answers: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{robot}")
        ready = queue.Queue()
        self.client.on_message = lambda c, u, m: self.answers.put((m.topic, m.retain, json.loads(m.payload)))
        self.client.on_subscribe = lambda *a: ready.put(True)
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(f"crackbot/{robot}/cmd/+/state", qos=1)
        self.client.loop_start()
        ready.get(timeout=5)

    def send(self, command, payload: bytes):
        self.client.publish(f"crackbot/{self.robot}/cmd/{command}/set", payload, qos=1).wait_for_publish(5)
        return self.next_live()

    def next_live(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            topic, retained, answer = self.answers.get(timeout=10)
            if not retained:
                return topic, answer
        raise AssertionError("no answer")

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def _wait_connected(publisher, timeout: float = 10.0) -> None:
    """The robot subscribes to its command topics on connecting: a request sent before that is lost."""
    assert wait_until(lambda: publisher.connected, timeout), "the robot did not connect to the broker"


def _announcements(operator: _Operator, retained: bool | None = None) -> dict:
    """The first state of each of the three commands, by command name."""
    states = {}
    while len(states) < 3:
        topic, is_retained, answer = operator.answers.get(timeout=5)
        if retained is not None:
            assert is_retained == retained
        states[topic.split("/")[-2]] = answer
    return states


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_commands_over_a_real_broker(tmp_path, mqtt_broker, protocol):
    if protocol == "5" and mqtt_broker.kind != "mosquitto":
        pytest.skip("the embedded broker speaks MQTT 3.1.1 only")
    cfg = MqttConfig(host=mqtt_broker.host, port=mqtt_broker.port, reconnect_min_s=0.2, reconnect_max_s=1,
                     protocol=protocol)
    publisher = Publisher(cfg, "rb-c", Outbox(tmp_path / "o.sqlite"))
    controls = RobotControls(threshold=0.5)
    handler = CommandHandler(controls, publisher, "rb-c")
    handler.attach()
    publisher.start()
    state_schema = validator("command_state")
    _wait_connected(publisher)
    operator = _Operator(mqtt_broker, "rb-c")
    newcomer = None
    try:
        # The robot announces its settings on connecting; the operator may see them live or retained.
        _announcements(operator)
        # Once they are at the broker, the retained states tell a newcomer the current settings.
        newcomer = _Operator(mqtt_broker, "rb-c", name="newcomer")
        retained = _announcements(newcomer, retained=True)
        assert retained["threshold"]["threshold"] == 0.5 and retained["pause"]["paused"] is False

        topic, answer = operator.send("pause", b"")
        assert topic == "crackbot/rb-c/cmd/pause/state"
        assert answer["accepted"] and answer["paused"] and controls.paused

        topic, answer = operator.send("threshold", b'{"value": 0.7, "request_id": "op-1"}')
        assert topic == "crackbot/rb-c/cmd/threshold/state"
        assert answer["accepted"] and answer["threshold"] == 0.7 and answer["request_id"] == "op-1"
        assert controls.threshold == 0.7

        topic, answer = operator.send("threshold", b'{"value": 3}')
        assert not answer["accepted"] and "maximum" in answer["error"]
        assert answer["threshold"] == 0.7 and controls.threshold == 0.7  # refused: nothing changed

        topic, answer = operator.send("threshold", b"\xff\xfe garbage")
        assert not answer["accepted"] and controls.threshold == 0.7

        topic, answer = operator.send("resume", b"")
        assert topic == "crackbot/rb-c/cmd/resume/state"
        assert answer["accepted"] and not answer["paused"] and not controls.paused

        for answer in [*retained.values(), answer]:
            assert list(state_schema.iter_errors(answer)) == []
        assert (handler.accepted, handler.refused) == (3, 2)
    finally:
        operator.close()
        if newcomer is not None:
            newcomer.close()
        publisher.stop()


@pytest.mark.slow
def test_pause_and_resume_reach_the_running_robot(tmp_path, shipped_bundle, mqtt_broker):
    import subprocess
    import sys

    from tests.integration.helpers import ROOT, write_sim_config

    operator = _Operator(mqtt_broker, "rb-live")
    config = write_sim_config(
        tmp_path,
        port=mqtt_broker.port,
        bundle=shipped_bundle,
        confirm="puback",
        robot_id="rb-live",
        width=3600,
        height=1400,
        cracks=3,
        seed=9,
    )
    summary = tmp_path / "s.json"
    robot = subprocess.Popen([sys.executable, "-m", "edge", "run", "--config", str(config), "--summary", str(summary),
                              "--set", "camera.realtime=true", "--set", "camera.fps=6"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The robot announces its three settings once connected: then it is running.
        announced = [operator.answers.get(timeout=60)[2] for _ in range(3)]
        assert sorted(a["command"] for a in announced) == ["pause", "resume", "threshold"]
        assert all(a["robot_id"] == "rb-live" and a["paused"] is False for a in announced)
        _, answer = operator.send("pause", b'{"request_id": "stop-for-a-look"}')
        assert answer["accepted"] and answer["paused"] and answer["request_id"] == "stop-for-a-look"
        time.sleep(0.6)  # a few frames go by while paused
        _, answer = operator.send("threshold", b"7")
        assert not answer["accepted"]
        _, answer = operator.send("resume", b"")
        assert answer["accepted"] and not answer["paused"]
        _, err = robot.communicate(timeout=120)
    finally:
        operator.close()
        if robot.poll() is None:
            robot.kill()
            robot.wait()
    assert robot.returncode == 0, err[-2000:]
    result = json.loads(summary.read_text())
    assert result["frames_paused"] > 0 and result["frames"] > 0
    assert "command threshold refused" in err


def test_command_program_prints_the_answer(tmp_path, mqtt_broker, capsys):
    from monitor.command import main as command_main

    cfg = MqttConfig(host=mqtt_broker.host, port=mqtt_broker.port, reconnect_min_s=0.2, reconnect_max_s=1)
    publisher = Publisher(cfg, "rb-p", Outbox(tmp_path / "o.sqlite"))
    controls = RobotControls(threshold=0.5)
    CommandHandler(controls, publisher, "rb-p").attach()
    publisher.start()
    _wait_connected(publisher)
    base = ["rb-p", "--host", mqtt_broker.host, "--port", str(mqtt_broker.port), "--timeout", "10"]
    try:
        assert command_main([*base[:1], "threshold", "0.65", *base[1:]]) == 0
        assert "threshold applied; now paused=False threshold=0.65" in capsys.readouterr().out
        assert controls.threshold == 0.65
        assert command_main([*base[:1], "threshold", "1.5", *base[1:]]) == 1  # refused by the robot
        assert "refused: value: 1.5 is greater than the maximum of 1" in capsys.readouterr().out
        assert controls.threshold == 0.65
        assert command_main([*base[:1], "pause", *base[1:]]) == 0 and controls.paused
        assert command_main([*base[:1], "pause", "3", *base[1:]]) == 2
        assert "pause takes no value" in capsys.readouterr().err
    finally:
        publisher.stop()
    no_robot = ["rb-nobody", "resume", "--host", mqtt_broker.host, "--port", str(mqtt_broker.port), "--timeout", "1"]
    assert command_main(no_robot) == 3  # the broker took it; no robot answered
    assert "resume queued: the broker took it but rb-nobody did not answer within 1 s" in capsys.readouterr().out


def test_deeply_nested_request_is_answered_over_a_real_broker(tmp_path, mqtt_broker):
    cfg = MqttConfig(host=mqtt_broker.host, port=mqtt_broker.port, reconnect_min_s=0.2, reconnect_max_s=1)
    publisher = Publisher(cfg, "rb-d", Outbox(tmp_path / "o.sqlite"))
    handler = CommandHandler(RobotControls(threshold=0.5), publisher, "rb-d")
    handler.attach()
    publisher.start()
    _wait_connected(publisher)
    operator = _Operator(mqtt_broker, "rb-d")
    try:
        _announcements(operator)
        topic, answer = operator.send("threshold", b"[" * 3000)
        assert topic.endswith("/cmd/threshold/state")
        assert answer["accepted"] is False and "nested too deeply" in answer["error"]
        topic, answer = operator.send("threshold", b"0.7")  # the robot still listens
        assert answer["accepted"] is True and answer["threshold"] == 0.7
        assert handler.refused == 1
    finally:
        operator.close()
        publisher.stop()
