"""Receipts to the robots: what the registry now holds, so a robot may delete it from its outbox.

After the registry commits an event (or finds it already there), its event_id is queued here; evidence
JPEGs go by their sha256. A small thread sends what is queued every `interval_s`, one message per robot
and at most MAX_IDS ids of each kind, QoS 1, on <root>/<robot_id>/receipts (edge/comms/topics.py,
edge/comms/schemas/receipt.schema.json). A lost receipt costs a re-send, never an event: the robot
sends the event again and is answered again.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from typing import Callable, Dict, List

from edge.comms import topics
from edge.comms.schemas import SCHEMA_VERSION

log = logging.getLogger(__name__)

MAX_IDS = 256  # per kind and message: the receipt schema's bound

Publish = Callable[[str, bytes], None]  # (topic, payload), QoS 1


def receipt_payloads(robot_id: str, event_ids: List[str], digests: List[str]) -> List[bytes]:
    """The receipts naming these ids, MAX_IDS of each kind a message."""
    out = []
    for start in range(0, max(len(event_ids), len(digests)), MAX_IDS):
        out.append(json.dumps({"schema_version": SCHEMA_VERSION, "robot_id": robot_id, "ts": round(time.time(), 3),
                               "events": event_ids[start:start + MAX_IDS],
                               "evidence": digests[start:start + MAX_IDS]}, separators=(",", ":")).encode())
    return out


class ReceiptSender:
    def __init__(self, publish: Publish, topic_root: str = topics.DEFAULT_ROOT, interval_s: float = 0.2):
        self._publish = publish
        self.topic_root = topic_root
        self.interval_s = interval_s
        self.sent = 0  # receipt messages handed to the client
        self._events: Dict[str, Dict[str, None]] = defaultdict(dict)  # robot -> ordered set of event ids
        self._evidence: Dict[str, Dict[str, None]] = defaultdict(dict)  # robot -> ordered set of sha256s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def event(self, robot_id: str, event_id: str) -> None:
        with self._lock:
            self._events[robot_id][event_id] = None

    def evidence(self, robot_id: str, digest: str) -> None:
        with self._lock:
            self._evidence[robot_id][digest] = None

    def start(self) -> "ReceiptSender":
        self._thread = threading.Thread(target=self._run, name="receipts", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Send what is queued, then stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batches = [(robot, list(self._events.pop(robot, {})), list(self._evidence.pop(robot, {})))
                       for robot in set(self._events) | set(self._evidence)]
        for robot, event_ids, digests in batches:
            topic = topics.robot_topic(self.topic_root, robot, topics.RECEIPTS)
            for payload in receipt_payloads(robot, event_ids, digests):
                try:
                    self._publish(topic, payload)
                    self.sent += 1
                except Exception:  # the robot sends the event again and gets its receipt then
                    log.exception("cannot send a receipt to %s", robot)
