"""Poses from outside the camera: a CSV log matched to folder frames by time places cracks on the wall;
without a pose source wall positions are null; pose messages arrive through the robot's own MQTT client."""
import json
import time

import cv2
import paho.mqtt.client as mqtt
import pytest

from edge.sim.camera import lawnmower_path
from edge.config import MqttConfig
from edge.comms.outbox import Outbox
from edge.wall.pose import MqttPoseListener, PoseBuffer
from edge.comms.publisher import Publisher
from edge.sim import render_wall
from tests.helpers import MessageCollector, robot_stopped, wait_until
from tests.integration.helpers import edge_run, write_sim_config

FW, FH, MM = 1000, 700, 0.5


def _frames_and_log(tmp_path):
    wall = render_wall(width_px=2400, height_px=1400, n_cracks=3, kind="concrete", seed=3, mm_per_px=MM)
    frames = tmp_path / "frames"
    frames.mkdir()
    rows = ["ts,x_mm,y_mm,heading_deg"]
    for i, (x, y) in enumerate(lawnmower_path(2400, 1400, FW, FH, 0.25)):
        cv2.imwrite(str(frames / f"{i:04d}.png"), cv2.cvtColor(wall.rgb[y:y + FH, x:x + FW], cv2.COLOR_RGB2BGR))
        rows.append(f"{1000 + i / 10:.3f},{(x + FW / 2) * MM},{(y + FH / 2) * MM},0")  # logged with each frame
    (tmp_path / "poses.csv").write_text("\n".join(rows) + "\n")
    return wall, frames


def _config(tmp_path, frames, port, bundle, pose):
    path = tmp_path / f"folder-{pose}.yaml"
    path.write_text(f"""robot_id: pose-bot
camera: {{type: folder, path: {frames}, fps: 10, start_ts: 1000}}
models: {{classifier: {bundle}}}
pose: {{source: {pose}, csv_path: {tmp_path / 'poses.csv'}, max_gap_s: 0.5}}
scale: {{mm_per_px: {MM}}}
mqtt: {{host: 127.0.0.1, port: {port}, drain_timeout_s: 20}}
outbox: {{path: {tmp_path / f'outbox-{pose}.sqlite'}, confirm: puback}}
""")
    return path


def _events(broker, run):
    with MessageCollector(broker, "crackbot/pose-bot/#") as got:
        proc = run()
        assert proc.returncode == 0, proc.stderr
        assert wait_until(lambda: robot_stopped(got))
    return got.payloads("events")


def _final_boxes(events):
    return sorted(tuple(ev["wall"]["bbox_mm"]) for ev in events if ev["type"] == "end")


@pytest.mark.slow
def test_csv_pose_places_folder_frames_where_the_simulator_does(tmp_path, shipped_bundle, mqtt_broker):
    wall, frames = _frames_and_log(tmp_path)
    config = _config(tmp_path, frames, mqtt_broker.port, shipped_bundle, "csv")
    events = _events(mqtt_broker, lambda: edge_run(config, tmp_path / "s.json"))
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["frames_without_pose"] == 0 and events
    # The same frames from the simulator, which knows its own pose exactly: the same cracks in the same places.
    sim = write_sim_config(
        tmp_path,
        port=mqtt_broker.port,
        bundle=shipped_bundle,
        confirm="puback",
        robot_id="pose-bot",
        width=2400,
        height=1400,
        cracks=3,
        seed=3,
    )
    sim_events = _events(mqtt_broker, lambda: edge_run(sim, tmp_path / "sim.json"))
    assert _final_boxes(events) == _final_boxes(sim_events) != []


@pytest.mark.slow
def test_without_pose_wall_positions_are_null(tmp_path, shipped_bundle, mqtt_broker):
    _, frames = _frames_and_log(tmp_path)
    config = _config(tmp_path, frames, mqtt_broker.port, shipped_bundle, "none")
    events = _events(mqtt_broker, lambda: edge_run(config, tmp_path / "s.json"))
    assert events and all(ev["wall"] == {"bbox_mm": None, "center_mm": None} for ev in events)


def test_pose_messages_reach_the_buffer_through_the_robot_client(tmp_path, mqtt_broker):
    buffer = PoseBuffer()
    publisher = Publisher(MqttConfig(host=mqtt_broker.host, port=mqtt_broker.port), "pose-bot",
                          Outbox(tmp_path / "o.sqlite"))
    MqttPoseListener(buffer, "pose-bot").attach(publisher)
    publisher.start()
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="controller")
    sender.connect(mqtt_broker.host, mqtt_broker.port)
    sender.loop_start()
    try:
        assert wait_until(lambda: publisher.connected, 15)
        deadline = time.monotonic() + 15
        pose = {"schema_version": 1, "robot_id": "pose-bot", "ts": 5.0, "x_mm": 120.5, "y_mm": 80.0}
        while len(buffer) == 0 and time.monotonic() < deadline:
            sender.publish("crackbot/pose-bot/pose", json.dumps(pose), qos=1)
            sender.publish("crackbot/pose-bot/pose", b"garbage", qos=1)
            time.sleep(0.2)
    finally:
        sender.loop_stop()
        sender.disconnect()
        publisher.stop()
    assert buffer.at(5.0).x_mm == 120.5 and buffer.rejected >= 1
