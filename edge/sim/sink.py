"""An in-memory event sink: stands in for the MQTT publisher and its outbox in offline checks
(`python -m edge scan-check`, `python -m edge photo-check`). Events go to a callback; nothing is
subscribed, nothing touches the disk or the network."""
from __future__ import annotations

from typing import Callable


class MemorySink:
    """The publisher's interface (edge/comms/publisher.py) with every event handed to `on_event`."""

    backlog = 0
    acked = 0
    evidence_acked = 0
    confirmed = 0
    evidence_confirmed = 0
    unencodable = 0
    write_failures = 0

    def __init__(self, on_event: Callable[[dict], None]):
        self.on_event = on_event

    def subscribe(self, suffix, handler):
        return suffix

    def publish_retained(self, suffix, payload):
        pass

    def start(self):
        pass

    def publish_event(self, payload: dict) -> None:
        self.on_event(payload)

    def publish_evidence(self, crack_id: str, jpeg: bytes) -> None:
        pass

    def publish_telemetry(self, payload: dict) -> None:
        pass

    def ends_for_killed_run(self) -> list:
        return []

    def drain(self, timeout: float) -> bool:
        return True

    def stop(self):
        pass

    def close(self):
        pass
