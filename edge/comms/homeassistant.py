"""Home Assistant MQTT discovery configs for one robot: (topic, JSON payload) pairs, published retained
by edge/comms/availability.py when home_assistant.discovery is on.

The format is Home Assistant's single-component discovery: a config on
<prefix>/<component>/<node_id>/<object_id>/config naming the robot's own topics. Entities:
- binary_sensor online (connectivity): the plain availability topic;
- sensors fps and outbox backlog from telemetry, last crack width from events (a crack without a
  width renders None, which Home Assistant shows as unknown);
- buttons pause and resume on the command topics. A button's payload is fixed, so it carries no
  sent_at: the robot applies it whatever its age (commands.require_sent_at refuses it instead);
  Home Assistant greys the buttons out while the robot is offline, so few wait at the broker.
A switch does not fit: pause and resume are two command topics and Home Assistant's switch has one.
"""
from __future__ import annotations

import json
import re
from typing import List, Tuple

from edge.comms import topics

MANUFACTURER = "crackbot"


def node_id(robot_id: str) -> str:
    """robot_id as a discovery node id: Home Assistant takes [A-Za-z0-9_-] only, robot ids may hold dots."""
    return "crackbot_" + re.sub(r"[^A-Za-z0-9_-]", "_", robot_id)


def discovery_configs(prefix: str, root: str, robot_id: str, model: str = "crackbot") -> List[Tuple[str, str]]:
    """(config topic, JSON payload) for each entity of the robot."""
    node = node_id(robot_id)

    def own(kind: str) -> str:
        return topics.robot_topic(root, robot_id, kind)

    availability = own(topics.AVAILABILITY)
    device = {"identifiers": [node], "name": f"crackbot {robot_id}", "model": model, "manufacturer": MANUFACTURER}
    common = {"availability_topic": availability, "payload_available": topics.AVAILABLE,
              "payload_not_available": topics.NOT_AVAILABLE, "device": device}
    entities = [
        ("binary_sensor", "online", {"name": "Online", "state_topic": availability, "device_class": "connectivity",
                                     "payload_on": topics.AVAILABLE, "payload_off": topics.NOT_AVAILABLE}),
        ("sensor", "fps", {"name": "Frame rate", "state_topic": own(topics.TELEMETRY),
                           "value_template": "{{ value_json.fps }}", "unit_of_measurement": "fps",
                           "state_class": "measurement"}),
        ("sensor", "outbox_backlog", {"name": "Outbox backlog", "state_topic": own(topics.TELEMETRY),
                                      "value_template": "{{ value_json.outbox_backlog }}",
                                      "unit_of_measurement": "messages", "state_class": "measurement"}),
        ("sensor", "last_crack_width", {"name": "Last crack width", "state_topic": own(topics.EVENTS),
                                        "value_template": "{{ value_json.width_max_mm }}", "unit_of_measurement": "mm",
                                        "icon": "mdi:wall"}),
        ("button", "pause", {"name": "Pause", "command_topic": own(topics.command_set("pause")),
                             "payload_press": "{}", "qos": 1, "icon": "mdi:pause"}),
        ("button", "resume", {"name": "Resume", "command_topic": own(topics.command_set("resume")),
                              "payload_press": "{}", "qos": 1, "icon": "mdi:play"}),
    ]
    configs = []
    for component, object_id, entity in entities:
        if component == "binary_sensor":  # it says offline rather than going unavailable itself
            payload = {"device": device, **entity}
        else:
            payload = {**common, **entity}
        payload["unique_id"] = f"{node}_{object_id}"
        configs.append((topics.discovery_config(prefix, component, node, object_id),
                        json.dumps(payload, separators=(",", ":"))))
    return configs
