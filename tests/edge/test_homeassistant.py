"""Home Assistant discovery configs (edge/comms/homeassistant.py): topics in its format, payloads naming our topics."""
from __future__ import annotations

import json
import re

from edge.comms.homeassistant import discovery_configs, node_id

# <discovery_prefix>/<component>/<node_id>/<object_id>/config, ids [A-Za-z0-9_-]
DISCOVERY_TOPIC = re.compile(r"^ha/(binary_sensor|sensor|button)/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/config$")


def test_discovery_configs_name_the_robots_topics():
    configs = discovery_configs("ha", "site/a", "rb.7")
    by_id = {}
    for topic, payload in configs:
        match = DISCOVERY_TOPIC.match(topic)
        assert match, topic
        config = json.loads(payload)
        assert match.group(2) == node_id("rb.7") == "crackbot_rb_7"
        assert config["unique_id"] == f"crackbot_rb_7_{match.group(3)}"
        assert config["device"]["identifiers"] == ["crackbot_rb_7"] and config["device"]["name"] == "crackbot rb.7"
        assert {"name", "manufacturer", "model"} <= set(config["device"])
        by_id[match.group(3)] = (match.group(1), config)
    assert set(by_id) == {"online", "fps", "outbox_backlog", "last_crack_width", "pause", "resume"}

    component, online = by_id["online"]
    assert component == "binary_sensor" and online["state_topic"] == "site/a/rb.7/availability"
    assert (online["payload_on"], online["payload_off"]) == ("online", "offline")
    for object_id, topic in (("fps", "telemetry"), ("outbox_backlog", "telemetry"), ("last_crack_width", "events")):
        component, sensor = by_id[object_id]
        assert component == "sensor" and sensor["state_topic"] == f"site/a/rb.7/{topic}"
        assert sensor["value_template"].startswith("{{ value_json.")
        assert sensor["availability_topic"] == "site/a/rb.7/availability"
        assert (sensor["payload_available"], sensor["payload_not_available"]) == ("online", "offline")
    for command in ("pause", "resume"):
        component, button = by_id[command]
        assert component == "button" and button["command_topic"] == f"site/a/rb.7/cmd/{command}/set"
        assert json.loads(button["payload_press"]) == {}  # a request the robot takes (command_set schema)
