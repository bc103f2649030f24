"""The MQTT subscriber: validate every crack event, drop duplicates, store the rest, track robot status.

paho-mqtt runs callbacks on its network thread; the registry takes its own lock and the counters
here take another, so callers may read ``summary()`` from any thread while messages arrive.
A bad payload is logged (one line) and counted, never raised: the subscriber keeps running.
Each event and evidence JPEG the registry holds (new or a duplicate) is confirmed to its robot with a
receipt (monitor/receipts.py), so the robot may delete it from its outbox.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

from edge.comms import topics
from monitor import MonitorError
from monitor.evidence import InvalidEvidence, check_evidence
from monitor.receipts import ReceiptSender
from monitor.registry import Registry

log = logging.getLogger(__name__)

TOPIC_ROOT = topics.DEFAULT_ROOT
MAX_PAYLOAD_BYTES = 256 * 1024

EventHook = Callable[[dict, bool], None]


class InvalidPayload(MonitorError):
    """A message that is not a valid crackbot payload; the message says why, `reason` names the kind."""

    def __init__(self, message: str, reason: str = "other"):
        super().__init__(message)
        self.reason = reason  # too_large, not_json, schema, wrong_robot, topic


def topic_parts(topic: str, root: str = TOPIC_ROOT) -> tuple[str, str]:
    """(robot_id, kind) of a crackbot topic (edge/comms/topics.py); InvalidPayload for any other topic."""
    try:
        return topics.topic_kind(topic, root)
    except ValueError as exc:
        raise InvalidPayload(str(exc), "topic") from None


@dataclass(frozen=True)
class TlsFiles:
    """TLS to the broker: the CA that signed its certificate, and our own certificate where it wants one."""

    ca_certs: str
    certfile: str | None = None
    keyfile: str | None = None


def parse_payload(topic: str, payload: bytes, schema: str, root: str = TOPIC_ROOT) -> dict[str, Any]:
    """Parse and validate one message against the named schema (event or status).

    Checks, in order: size (refused unparsed over MAX_PAYLOAD_BYTES), UTF-8 JSON without NaN or
    Infinity, the JSON Schema (which bounds every number), and that the topic's robot id is the
    payload's robot_id. Nesting too deep to parse is refused too, never raised.
    """
    from edge.comms.schemas import validator

    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidPayload(f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD_BYTES} byte limit", "too_large")
    try:
        data = json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidPayload(f"not JSON: {_shorten(str(exc))}", "not_json") from None
    except RecursionError:  # nesting deeper than the interpreter's stack: hostile, not data
        raise InvalidPayload("not JSON: nested too deeply", "not_json") from None
    try:
        errors = sorted(validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    except RecursionError:
        raise InvalidPayload(f"{schema} schema: nested too deeply", "schema") from None
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidPayload(f"{schema} schema: at {where}: {_shorten(err.message)}{more}", "schema")
    robot, _ = topic_parts(topic, root)
    if data["robot_id"] != robot:
        raise InvalidPayload(f"robot_id {data['robot_id']!r} does not match the topic's {robot!r}", "wrong_robot")
    return data


def _refuse_constant(name: str):
    # Python's json reads NaN and Infinity, which are not JSON; stored, they break every export.
    raise ValueError(f"{name} is not a JSON number")


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class RobotStatus:
    """The last status message of one robot. live is False for a retained message (an old state)."""

    state: str
    ts: float
    live: bool
    received_at: float


class Subscriber:
    """Subscribe to crackbot events and status, and keep the registry up to date.

    robot_id: one robot, or None for every robot (``+``).
    on_event(payload, is_new_crack): called on paho's thread after each new (not duplicate) event
    is stored; is_new_crack is True the first time the registry sees that crack. Its exceptions
    are logged, not raised.
    """

    def __init__(self, host: str, port: int, registry: Registry, robot_id: str | None = None, *,
                 on_event: EventHook | None = None, client_id: str | None = None,
                 clean_session: bool = True, keepalive: int = 30,
                 reconnect_min_s: float = 0.5, reconnect_max_s: float = 15.0,
                 topic_root: str = TOPIC_ROOT, username: str | None = None, password: str | None = None,
                 tls: TlsFiles | None = None, receipts: bool = True):
        self.host, self.port = host, int(port)
        self.topic_root = topic_root
        self._auth = (username, password)
        self._tls = tls
        self.last_error: str | None = None  # why the broker refused us, when it did
        self.registry = registry
        self.robot_id = robot_id
        self.on_event = on_event
        self.client_id = client_id or f"crackbot-monitor-{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._clean_session = clean_session
        self._keepalive = keepalive
        self._reconnect = (reconnect_min_s, reconnect_max_s)
        self._client = None
        self._send_receipts = receipts  # False: a read-only listener, robots keep re-sending until a monitor confirms
        self._receipts: ReceiptSender | None = None
        self._lock = threading.RLock()
        self._connected = threading.Event()
        self._status_changed = threading.Condition(self._lock)
        self._counts: Counter[str] = Counter()
        self._events_by_type: Counter[str] = Counter()
        self._invalid_by_reason: Counter[str] = Counter()
        self._telemetry: dict[str, dict] = {}  # robot -> its last telemetry message
        self._controls: dict[str, dict] = {}  # robot -> {"paused", "threshold"} from its command answers
        self._session_cracks: set[tuple[str, str]] = set()
        self._status: dict[str, RobotStatus] = {}
        self._live_stopped: set[str] = set()
        self._connects = 0
        self.started_at: float | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def topics(self) -> list[tuple[str, int]]:
        return topics.monitor_subscriptions(self.topic_root, self.robot_id or "+")

    def start(self) -> "Subscriber":
        """Connect in the background; paho retries with back-off until the broker is up."""
        import paho.mqtt.client as mqtt

        if self._client is not None:
            return self
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             clean_session=self._clean_session)
        client.reconnect_delay_set(*self._reconnect)
        if self._auth[0]:
            client.username_pw_set(*self._auth)
        if self._tls is not None:
            import ssl

            try:
                client.tls_set(ca_certs=self._tls.ca_certs, certfile=self._tls.certfile, keyfile=self._tls.keyfile,
                               cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
            except (OSError, ValueError) as exc:
                raise MonitorError(f"cannot use the TLS files: {exc}") from None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client
        if self._send_receipts:
            self._receipts = ReceiptSender(lambda topic, data: client.publish(topic, data, qos=1),
                                           self.topic_root).start()
        self.started_at = time.time()
        try:
            client.connect_async(self.host, self.port, keepalive=self._keepalive)
        except (ValueError, OSError) as exc:
            self._client = None
            raise MonitorError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        client.loop_start()
        return self

    def stop(self) -> None:
        """Disconnect cleanly and stop paho's thread."""
        client, self._client = self._client, None
        if client is None:
            return
        if self._receipts is not None:
            self._receipts.stop()  # the last receipts go out before the disconnect
        client.disconnect()
        client.loop_stop()
        self._connected.clear()

    def __enter__(self) -> "Subscriber":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def ever_connected(self) -> bool:
        """True once the broker accepted a connection (even if it is gone again)."""
        return self._connects > 0

    def wait_connected(self, timeout: float | None = None) -> bool:
        """True once connected and subscribed, so nothing published from now on is missed (False on timeout)."""
        return self._connected.wait(timeout)

    # -- status --------------------------------------------------------------------------------
    def status(self) -> dict[str, RobotStatus]:
        """The last status seen of each robot."""
        with self._lock:
            return dict(self._status)

    def stopped_robots(self) -> set[str]:
        """Robots that published a live (not retained) `stopped` while we listened."""
        with self._lock:
            return set(self._live_stopped)

    def wait_until_stopped(self, robot_ids: list[str] | set[str] | None = None,
                           timeout: float | None = None) -> bool:
        """Block until a live `stopped` arrived from any robot (or from every robot in robot_ids).

        Retained `stopped` messages are an earlier run's state and do not count. False on timeout.
        """
        wanted = set(robot_ids) if robot_ids else None

        def done() -> bool:
            return wanted <= self._live_stopped if wanted else bool(self._live_stopped)

        with self._status_changed:
            return self._status_changed.wait_for(done, timeout)

    def session_robots(self) -> set[str]:
        """Robots that sent at least one valid event while we listened."""
        with self._lock:
            return {robot for robot, _ in self._session_cracks}

    # -- counts --------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Counts of this session (duplicates and invalid messages are not in events_received)."""
        with self._lock:
            return {
                "events_received": self._counts["events_received"],
                "duplicates_dropped": self._counts["duplicates_dropped"],
                "invalid": self._counts["invalid"],
                "invalid_by_reason": dict(sorted(self._invalid_by_reason.items())),
                "messages": self._counts["messages"],
                "cracks": len(self._session_cracks),
                "robots": sorted({r for r, _ in self._session_cracks} | set(self._status)),
                "events_by_type": {t: self._events_by_type.get(t, 0) for t in ("new", "update", "end")},
                "evidence_received": self._counts["evidence_received"],
                "evidence_duplicates_dropped": self._counts["evidence_duplicates_dropped"],
                "receipts_sent": self._receipts.sent if self._receipts else 0,
                "status": {r: {"state": s.state, "ts": s.ts, "live": s.live} for r, s in self._status.items()},
                "stopped": sorted(self._live_stopped),
                "connects": self._connects,
                "telemetry": {r: dict(t) for r, t in self._telemetry.items()},
                "controls": {r: dict(c) for r, c in self._controls.items()},
            }

    # -- paho callbacks (network thread) -------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            log.warning("broker %s:%d refused the connection: %s", self.host, self.port, reason_code)
            return
        with self._lock:
            self._connects += 1
        # Subscribing here renews the subscriptions after every reconnect (e.g. a broker restart).
        client.subscribe(self.topics)
        log.info("connected to %s:%d", self.host, self.port)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            log.warning("broker refused a subscription: %s", [str(rc) for rc in reason_codes])
        log.info("subscribed to %s", ", ".join(t for t, _ in self.topics))
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        if self._client is not None:  # not our own stop()
            log.warning("lost the broker %s:%d (%s); reconnecting", self.host, self.port, reason_code)

    def _on_message(self, client, userdata, msg) -> None:
        # An exception escaping a paho callback would stop the network loop: never let one out.
        try:
            robot, kind = topic_parts(msg.topic, self.topic_root)
            if kind == "events":
                self._handle_event(msg.topic, msg.payload)
            elif kind == "status":
                self._handle_status(msg.topic, msg.payload, bool(msg.retain))
            elif kind in ("telemetry", "command_state"):
                self._handle_robot_state(msg.topic, msg.payload, kind)
            elif kind == topics.EVIDENCE:
                self._handle_evidence(msg.topic, msg.payload)
        except (InvalidPayload, InvalidEvidence) as exc:
            self._count_invalid(msg.topic, str(exc), exc.reason)
        except Exception:
            log.exception("error handling a message on %s", msg.topic)

    def _count_invalid(self, topic: str, why: str, reason: str = "other") -> None:
        with self._lock:
            self._counts["invalid"] += 1
            self._invalid_by_reason[reason] += 1
        log.warning("invalid payload on %s: %s", topic, why)

    def _handle_event(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self._counts["messages"] += 1
        event = parse_payload(topic, payload, "event", self.topic_root)
        key = (event["robot_id"], event["crack_id"])
        with self._lock:
            is_new_crack = self.registry.crack(*key) is None
            stored = self.registry.add_event(event)
            if self._receipts is not None:  # committed now or before: either way the registry holds it
                self._receipts.event(event["robot_id"], event["event_id"])
            if not stored:
                self._counts["duplicates_dropped"] += 1
                log.debug("duplicate event %s dropped", event["event_id"])
                return
            self._counts["events_received"] += 1
            self._events_by_type[event["type"]] += 1
            self._session_cracks.add(key)
        if self.on_event is not None:
            try:
                self.on_event(event, is_new_crack)
            except Exception:
                log.exception("on_event hook failed for event %s", event["event_id"])

    def _handle_evidence(self, topic: str, payload: bytes) -> None:
        """A crack's evidence JPEG: checked (monitor/evidence.py), then the registry keeps the newest."""
        with self._lock:
            self._counts["messages"] += 1
        robot, crack_id = check_evidence(topic, payload, self.topic_root)
        stored = self.registry.add_evidence(robot, crack_id, payload)
        if self._receipts is not None:
            self._receipts.evidence(robot, hashlib.sha256(payload).hexdigest())
        with self._lock:
            self._counts["evidence_received" if stored else "evidence_duplicates_dropped"] += 1

    def _handle_status(self, topic: str, payload: bytes, retained: bool) -> None:
        if not payload:  # an empty retained message clears the topic; nothing to record
            return
        status = parse_payload(topic, payload, "status", self.topic_root)
        robot, state = status["robot_id"], status["state"]
        self.registry.set_status(robot, state, status["ts"])
        with self._status_changed:
            self._status[robot] = RobotStatus(state, float(status["ts"]), not retained, time.time())
            if not retained and state == "stopped":
                self._live_stopped.add(robot)
            self._status_changed.notify_all()
        log.info("robot %s is %s%s", robot, state, " (retained)" if retained else "")

    def _handle_robot_state(self, topic: str, payload: bytes, kind: str) -> None:
        """Telemetry and command answers: only the newest of each robot is kept (for the live table)."""
        if not payload:  # a cleared retained message
            return
        data = parse_payload(topic, payload, kind, self.topic_root)
        with self._lock:
            if kind == "telemetry":
                self._telemetry[data["robot_id"]] = {k: data[k] for k in ("ts", "fps", "frames", "frames_dropped",
                                                                          "outbox_backlog")}
            else:
                self._controls[data["robot_id"]] = {"paused": data["paused"], "threshold": data["threshold"],
                                                    "ts": data["ts"]}
