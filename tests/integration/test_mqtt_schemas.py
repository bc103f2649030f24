"""The payload schemas themselves: valid JSON Schema, versioned, and they accept and refuse what they should."""
from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from edge.comms.schemas import SCHEMA_VERSION, SCHEMA_VERSIONS, load_schema, validator

SCHEMAS = sorted(p.name[: -len(".schema.json")]
                 for p in (Path(__file__).parents[2] / "edge" / "comms" / "schemas").glob("*.schema.json"))


def test_every_payload_has_a_schema():
    assert set(SCHEMAS) >= {"event", "status", "telemetry", "pose", "command_set", "command_state"}


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_and_versioned(name):
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False  # a typo in a field name is refused, not ignored
    if name != "command_set":  # requests carry no version; everything a robot publishes does
        assert schema["properties"]["schema_version"]["enum"] == list(SCHEMA_VERSIONS)  # old robots still heard
        assert SCHEMA_VERSION == max(SCHEMA_VERSIONS)
        assert "schema_version" in schema["required"]


def _errors(name, payload):
    return [e.message for e in validator(name).iter_errors(payload)]


def test_pose():
    pose = {"schema_version": 1, "robot_id": "rb-1", "ts": 1.7e9, "x_mm": 1200.5, "y_mm": 300.0}
    assert _errors("pose", pose) == []
    assert _errors("pose", {**pose, "heading_deg": -12.0, "standoff_mm": 800.0, "wall_id": "north"}) == []
    assert _errors("pose", {**pose, "standoff_mm": 0})  # the camera cannot touch the wall
    assert _errors("pose", {**pose, "heading_deg": 270})
    assert _errors("pose", {k: v for k, v in pose.items() if k != "y_mm"})


def test_event_optional_evidence_and_wall_id(make_event):
    event = make_event(evidence="https://robot.local/crops/c-1.jpg",
                       wall={"id": "north", "bbox_mm": [0, 0, 10, 10], "center_mm": [5, 5]})
    assert _errors("event", event) == []
    assert _errors("event", make_event(evidence=""))
    assert _errors("event", make_event(wall={"id": "no/slash", "bbox_mm": None, "center_mm": None}))


def test_command_state():
    state = {"schema_version": 1, "robot_id": "rb-1", "ts": 1.7e9, "command": "threshold", "accepted": False,
             "error": "value: 2 is greater than the maximum of 1", "paused": False, "threshold": 0.5}
    assert _errors("command_state", state) == []
    assert _errors("command_state", {**state, "command": "reboot"})
    assert _errors("command_state", {**state, "threshold": 1.5})
