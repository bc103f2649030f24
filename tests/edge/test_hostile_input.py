"""Hostile input on the robot's side: poses, commands, configs, model.json, frames, the outbox disk.

Each case once ended in a traceback, a hang, or a robot that published what is not JSON.
"""
from __future__ import annotations

import json

import pytest

from edge.config import MqttConfig
from edge.errors import ConfigError
from edge.outbox import Outbox
from edge.pose import PoseBuffer, PoseSample, load_pose_csv, parse_pose_message
from edge.publisher import Publisher


def _pose(**overrides) -> bytes:
    data = {"schema_version": 1, "robot_id": "r1", "ts": 100.0, "x_mm": 10.0, "y_mm": 20.0}
    data.update(overrides)
    return json.dumps(data).encode()


# -- poses -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [{"x_mm": 1e308}, {"y_mm": -1e200}, {"ts": 1e300}, {"standoff_mm": 1e300},
                                       {"x_mm": 1e9}])
def test_pose_beyond_bounds_is_refused(overrides):
    with pytest.raises(ValueError):
        parse_pose_message(_pose(**overrides), "r1")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_pose_with_nan_or_infinity_is_refused(token):
    with pytest.raises(ValueError, match="not JSON"):
        parse_pose_message(_pose(x_mm="@").replace(b'"@"', token.encode()), "r1")


@pytest.mark.parametrize("payload", [b"[" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b" " * 5000])
def test_pose_deep_or_large_is_a_value_error(payload):
    with pytest.raises(ValueError):
        parse_pose_message(payload, "r1")


def test_pose_sample_and_csv_are_bounded(tmp_path):
    with pytest.raises(ValueError):
        PoseSample(1.0, 1e308, 0.0)
    log = tmp_path / "poses.csv"
    log.write_text("ts,x_mm,y_mm\n1,0,0\n2,1e308,0\n")
    with pytest.raises(ConfigError, match=":3:"):
        load_pose_csv(log, PoseBuffer())


# -- what the robot writes is JSON -----------------------------------------------------------------

def test_robot_never_publishes_infinity(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    pub = Publisher(MqttConfig(), "r1", outbox)
    pub.publish_event({"event_id": "e1", "crack_id": "c1", "wall": {"center_mm": [float("inf"), 0.0]}})
    assert len(outbox) == 0 and pub.unencodable == 1
    pub.publish_event({"event_id": "e2", "crack_id": "c1", "ts": 1.0})
    assert len(outbox) == 1
    outbox.close()
