"""The subscriber side of crackbot: consume crack events, keep a crack registry, draw the crack map.

Modules, one job each:
    broker         a local MQTT broker (mosquitto or an embedded amqtt one) for tests and the demo
    secure_broker  a locked-down mosquitto: passwords, per-robot ACL, TLS with a CA made here
    registry       the SQLite crack registry: events deduplicated by event_id, one row per crack
    subscriber     the MQTT client: validate, dedupe, store, track robot status and telemetry
    crackmap       the crack map PNG, one per wall
    palette        severity colours, scale labels and width bands shared by the map, report and live table
    exports        CSV and GeoJSON (wall mm) of the registry
    report         the HTML report with evidence crops; ``python -m monitor.report`` from a registry file
    live           the live terminal table of cracks
    command        ``python -m monitor.command``: pause, resume, threshold to a robot
    args           the one-line-error argument parser and argument types the commands share
    cli            ``python -m monitor``
"""
from __future__ import annotations

from edge.errors import CrackbotError


class MonitorError(CrackbotError):
    """A monitor input the user controls is wrong: a bad path, an unreachable broker, a broker that will not start."""


__all__ = ["MonitorError"]
