"""Every MQTT topic of crackbot, written once: the robot (edge/comms) and the subscriber (monitor/) both
build and read them here.

    <root>/<robot_id>/status                 retained JSON online / stopped / offline (last will)
    <root>/<robot_id>/availability           retained plain online / offline (last will of its own connection)
    <root>/<robot_id>/events                 crack events, QoS 1
    <root>/<robot_id>/telemetry              QoS 0
    <root>/<robot_id>/pose                   poses from the robot controller (pose.source mqtt)
    <root>/<robot_id>/cmd/<command>/set      a request to the robot
    <root>/<robot_id>/cmd/<command>/state    the robot's answer, retained
    <discovery_prefix>/<component>/<node_id>/<object_id>/config   Home Assistant discovery, retained (opt-in)
"""
from __future__ import annotations

from typing import List, Tuple

DEFAULT_ROOT = "crackbot"
STATUS, EVENTS, TELEMETRY, POSE = "status", "events", "telemetry", "pose"
AVAILABILITY = "availability"  # plain `online` / `offline`, what Home Assistant and most dashboards read
AVAILABLE, NOT_AVAILABLE = "online", "offline"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
COMMAND_STATE = "command_state"  # the kind topic_kind() gives a command's state topic


def robot_topic(root: str, robot: str, kind: str) -> str:
    """<root>/<robot>/<kind>; robot may be the wildcard + in a subscription."""
    return f"{root}/{robot}/{kind}"


def command_set(command: str) -> str:
    """The suffix (under <root>/<robot_id>/) on which the robot takes `command` requests."""
    return f"cmd/{command}/set"


def command_state(command: str) -> str:
    """The suffix on which the robot answers `command` requests (retained)."""
    return f"cmd/{command}/state"


def discovery_config(prefix: str, component: str, node_id: str, object_id: str) -> str:
    """Where Home Assistant reads the discovery config of one entity; node_id and object_id are [A-Za-z0-9_-]."""
    return f"{prefix}/{component}/{node_id}/{object_id}/config"


def discovery_status(prefix: str) -> str:
    """Home Assistant's own birth / will topic: `online` when it (re)starts and wants the configs again."""
    return f"{prefix}/status"


def monitor_subscriptions(root: str, robot: str = "+") -> List[Tuple[str, int]]:
    """(topic, QoS) a subscriber needs for one robot, or every robot with +."""
    return [(robot_topic(root, robot, EVENTS), 1), (robot_topic(root, robot, STATUS), 1),
            (robot_topic(root, robot, TELEMETRY), 0), (robot_topic(root, robot, command_state("+")), 1)]


def topic_kind(topic: str, root: str) -> Tuple[str, str]:
    """(robot_id, kind) of a topic under `root`: kind is events, status, availability, telemetry, pose or
    command_state.
    ValueError for any other topic."""
    prefix = root + "/"
    parts = topic[len(prefix):].split("/") if topic.startswith(prefix) else []
    if len(parts) == 4 and parts[0] and parts[1] == "cmd" and parts[3] == "state":
        return parts[0], COMMAND_STATE
    if len(parts) != 2 or not parts[0]:
        raise ValueError(f"unexpected topic {topic!r}")
    return parts[0], parts[1]
