"""The subscriber side of crackbot: consume crack events, keep a crack registry, draw the crack map.

Modules, one job each:
    broker      a local MQTT broker (mosquitto or an embedded amqtt one) for tests and the demo
    registry    the SQLite crack registry: events deduplicated by event_id, one row per crack
    subscriber  the MQTT client: validate, dedupe, store, track robot status
    crackmap    the crack map PNG
    cli         ``python -m monitor``
"""
from __future__ import annotations

from edge.errors import CrackbotError


class MonitorError(CrackbotError):
    """A monitor input the user controls is wrong: a bad path, an unreachable broker, a broker that will not start."""


__all__ = ["MonitorError"]
