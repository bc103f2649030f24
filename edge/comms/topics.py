"""Every MQTT topic of crackbot, written once: the robot (edge/comms) and the subscriber (monitor/) both
build and read them here.

    <root>/<robot_id>/status                 retained JSON online / stopped / offline (last will)
    <root>/<robot_id>/availability           retained plain online / offline (last will of its own connection)
    <root>/<robot_id>/events                 crack events, QoS 1
    <root>/<robot_id>/telemetry              QoS 0
    <root>/<robot_id>/evidence/<crack_id>    a JPEG of a new or updated crack (raw bytes, no JSON), QoS 1
    <root>/<robot_id>/receipts               from the monitor: event ids and evidence sha256s its registry holds, QoS 1
    <root>/<robot_id>/pose                   poses from the robot controller (pose.source mqtt)
    <root>/<robot_id>/cmd/<command>/set      a request to the robot
    <root>/<robot_id>/cmd/<command>/state    the robot's answer, retained
    <discovery_prefix>/<component>/<node_id>/<object_id>/config   Home Assistant discovery, retained (opt-in)
"""
from __future__ import annotations

import re
from typing import List, Tuple

DEFAULT_ROOT = "crackbot"
STATUS, EVENTS, TELEMETRY, POSE = "status", "events", "telemetry", "pose"
AVAILABILITY = "availability"  # plain `online` / `offline`, what Home Assistant and most dashboards read
AVAILABLE, NOT_AVAILABLE = "online", "offline"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
COMMAND_STATE = "command_state"  # the kind topic_kind() gives a command's state topic
EVIDENCE = "evidence"
RECEIPTS = "receipts"  # the registry's receipts to the robot: what may leave its outbox
# Crack ids that may name a topic level (the tracker's all do); never only dots, so no id reads as a path.
CRACK_ID = re.compile(r"(?!\.+$)[A-Za-z0-9_.-]{1,128}")


def robot_topic(root: str, robot: str, kind: str) -> str:
    """<root>/<robot>/<kind>; robot may be the wildcard + in a subscription."""
    return f"{root}/{robot}/{kind}"


def command_set(command: str) -> str:
    """The suffix (under <root>/<robot_id>/) on which the robot takes `command` requests."""
    return f"cmd/{command}/set"


def command_state(command: str) -> str:
    """The suffix on which the robot answers `command` requests (retained)."""
    return f"cmd/{command}/state"


def evidence(crack_id: str) -> str:
    """The suffix (under <root>/<robot_id>/) of a crack's evidence JPEG; ValueError for an id no topic may hold."""
    if not CRACK_ID.fullmatch(crack_id):
        raise ValueError(f"crack id {crack_id!r} cannot name a topic level ([A-Za-z0-9_.-], 1 to 128, not only dots)")
    return f"{EVIDENCE}/{crack_id}"


def discovery_config(prefix: str, component: str, node_id: str, object_id: str) -> str:
    """Where Home Assistant reads the discovery config of one entity; node_id and object_id are [A-Za-z0-9_-]."""
    return f"{prefix}/{component}/{node_id}/{object_id}/config"


def discovery_status(prefix: str) -> str:
    """Home Assistant's own birth / will topic: `online` when it (re)starts and wants the configs again."""
    return f"{prefix}/status"


def monitor_subscriptions(root: str, robot: str = "+") -> List[Tuple[str, int]]:
    """(topic, QoS) a subscriber needs for one robot, or every robot with +."""
    return [(robot_topic(root, robot, EVENTS), 1), (robot_topic(root, robot, STATUS), 1),
            (robot_topic(root, robot, TELEMETRY), 0), (robot_topic(root, robot, command_state("+")), 1),
            (robot_topic(root, robot, f"{EVIDENCE}/+"), 1)]


def topic_kind(topic: str, root: str) -> Tuple[str, str]:
    """(robot_id, kind) of a topic under `root`: kind is events, status, availability, telemetry, pose,
    command_state or evidence (its crack id: evidence_crack_id).
    ValueError for any other topic."""
    prefix = root + "/"
    parts = topic[len(prefix):].split("/") if topic.startswith(prefix) else []
    if len(parts) == 4 and parts[0] and parts[1] == "cmd" and parts[3] == "state":
        return parts[0], COMMAND_STATE
    if len(parts) == 3 and parts[0] and parts[1] == EVIDENCE:
        return parts[0], EVIDENCE
    if len(parts) != 2 or not parts[0] or parts[1] == EVIDENCE:  # evidence always names its crack
        raise ValueError(f"unexpected topic {topic!r}")
    return parts[0], parts[1]


def evidence_crack_id(topic: str) -> str:
    """The crack id of an evidence topic (its last level); ValueError when no crack may have it."""
    crack_id = topic.rsplit("/", 1)[-1]
    if not CRACK_ID.fullmatch(crack_id):
        raise ValueError(f"evidence topic {topic[:200]!r}: {crack_id[:140]!r} is no crack id")
    return crack_id
