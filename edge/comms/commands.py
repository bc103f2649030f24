"""Commands to the robot over MQTT: pause, resume, threshold.

A request arrives on <topic_root>/<robot_id>/cmd/<command>/set and is answered, accepted or
refused, on .../cmd/<command>/state (retained, so whoever looks later sees the current setting).
Payloads (edge/comms/schemas/command_set.schema.json): pause and resume take an empty payload or
{"request_id": ...}; threshold takes {"value": 0.6} or a bare 0.6. Any request may carry `sent_at`
and `expiry_s`: one older than its expiry is refused as expired (edge/comms/expiry.py). Anything
refused gets a one-line reason and a `reason` code in the answer and the log, and changes nothing.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from edge.errors import CrackbotError
from edge.comms.expiry import INVALID, ExpiryRules, refusal
from edge.comms.schemas import SCHEMA_VERSION, validator
from edge.comms.topics import command_set, command_state

log = logging.getLogger(__name__)

COMMANDS = ("pause", "resume", "threshold")
MAX_REQUEST_BYTES = 4096


class CommandError(CrackbotError):
    """A command request that is refused; the message says why, `reason` is the answer's code for it."""

    def __init__(self, message: str, reason: str = INVALID):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CommandRequest:
    command: str
    value: Optional[float] = None
    request_id: Optional[str] = None
    sent_at: Optional[float] = None  # the sender's clock, epoch seconds
    expiry_s: Optional[float] = None


class RobotControls:
    """The settings commands change and the edge loop reads; safe to use from any thread."""

    def __init__(self, threshold: float, paused: bool = False):
        if not 0.0 <= float(threshold) <= 1.0:
            raise CommandError(f"threshold must be within 0..1, got {threshold}")
        self._lock = threading.Lock()
        self._threshold = float(threshold)
        self._paused = paused
        self._resumed = threading.Event()
        if not paused:
            self._resumed.set()

    @property
    def threshold(self) -> float:
        with self._lock:
            return self._threshold

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            self._resumed.clear()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._resumed.set()

    def set_threshold(self, value: float) -> None:
        if not 0.0 <= float(value) <= 1.0:
            raise CommandError(f"threshold must be within 0..1, got {value}")
        with self._lock:
            self._threshold = float(value)

    def wait_resumed(self, timeout: Optional[float] = None) -> bool:
        """Block while paused; True once running (at once when not paused), False on timeout."""
        return self._resumed.wait(timeout)

    def snapshot(self) -> Tuple[bool, float]:
        with self._lock:
            return self._paused, self._threshold


def _no_special_floats(name: str) -> Any:
    raise CommandError(f"{name} is not a number the robot accepts")


def parse_request(command: str, payload: bytes) -> CommandRequest:
    """Validate one request; CommandError with a one-line reason when it is refused."""
    if command not in COMMANDS:
        raise CommandError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
    if len(payload) > MAX_REQUEST_BYTES:
        raise CommandError(f"request of {len(payload)} bytes is over the {MAX_REQUEST_BYTES} byte limit")
    text = payload.decode("utf-8", "replace").strip()
    if not text:
        data: Any = {}
    else:
        try:
            data = json.loads(text, parse_constant=_no_special_floats)
        except ValueError as exc:
            raise CommandError(f"not JSON: {exc}") from None
        except RecursionError:  # '[' x 3000 fits the byte limit and still overflows the parser's stack
            raise CommandError("not JSON: nested too deeply") from None
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        data = {"value": data}  # a bare number, as typed on a command line
    if not isinstance(data, dict):
        raise CommandError(f"expected a JSON object or a number, got {type(data).__name__}")
    try:
        errors = sorted(validator("command_set").iter_errors(data), key=lambda e: list(e.absolute_path))
    except RecursionError:
        raise CommandError("request nested too deeply") from None
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "request"
        raise CommandError(f"{where}: {errors[0].message}")
    value = data.get("value")
    if command == "threshold":
        if value is None:
            raise CommandError("threshold needs a value, e.g. {\"value\": 0.6}")
        if not math.isfinite(value):
            raise CommandError(f"threshold must be finite, got {value}")
    elif value is not None:
        raise CommandError(f"{command} takes no value")
    return CommandRequest(command, None if value is None else float(value), data.get("request_id"),
                          data.get("sent_at"), data.get("expiry_s"))


def _request_id_of(payload: bytes) -> Optional[str]:
    """The request_id of a refused request, when it had a usable one, so the sender can match the answer."""
    try:
        data = json.loads(payload[:MAX_REQUEST_BYTES].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    rid = data.get("request_id") if isinstance(data, dict) else None
    return rid if isinstance(rid, str) and 0 < len(rid) <= 128 else None


class CommandHandler:
    """Subscribes to the command topics of one robot and answers every request on its state topic."""

    def __init__(self, controls: RobotControls, publisher, robot_id: str, rules: ExpiryRules = ExpiryRules(),
                 clock=time.time):
        self.controls = controls
        self.publisher = publisher
        self.robot_id = robot_id
        self.rules = rules
        self.clock = clock  # the robot's own clock decides a request's age
        self.accepted = 0
        self.refused = 0

    def attach(self) -> None:
        """Subscribe (also after every reconnect, via the publisher) and announce the current settings."""
        for name in COMMANDS:
            self.publisher.subscribe(command_set(name), self._on_message)
        for name in COMMANDS:
            self.publisher.publish_retained(command_state(name), self.state(name, accepted=True))

    def _on_message(self, topic: str, payload: bytes) -> None:
        command = topic.rsplit("/", 2)[-2]
        self.handle(command, payload)

    def handle(self, command: str, payload: bytes) -> dict:
        """Apply one request and publish the answer; returns the answer."""
        request_id = None
        try:
            request = parse_request(command, payload)
            request_id = request.request_id
            stale = refusal(request.sent_at, request.expiry_s, self.clock(), self.rules)
            if stale is not None:
                raise CommandError(stale[1], reason=stale[0])
            if request.command == "pause":
                self.controls.pause()
            elif request.command == "resume":
                self.controls.resume()
            else:
                self.controls.set_threshold(request.value)
        except CommandError as exc:
            self.refused += 1
            log.warning("command %s refused: %s", command, exc)
            answer = self.state(command, accepted=False, error=str(exc), request_id=_request_id_of(payload),
                                reason=exc.reason)
        else:
            self.accepted += 1
            log.info("command %s accepted%s", command, f" (value {request.value})" if request.value is not None else "")
            answer = self.state(command, accepted=True, request_id=request_id)
        if command in COMMANDS:  # an unknown name has no state topic of its own to answer on
            self.publisher.publish_retained(command_state(command), answer)
        return answer

    def state(self, command: str, accepted: bool, error: Optional[str] = None,
              request_id: Optional[str] = None, reason: Optional[str] = None) -> dict:
        paused, threshold = self.controls.snapshot()
        answer = {"schema_version": SCHEMA_VERSION, "robot_id": self.robot_id, "ts": time.time(),
                  "command": command, "accepted": accepted, "paused": paused, "threshold": threshold}
        if error is not None:
            answer["error"] = error
            answer["reason"] = reason or INVALID
        if request_id is not None:
            answer["request_id"] = request_id
        return answer
