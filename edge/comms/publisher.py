"""MQTT publisher (paho-mqtt 2 callback API): retained status, last will, events from the outbox.

Events are sent in outbox order at QoS 1 and leave the outbox only when their delivery is confirmed:
by the registry's receipt (outbox.confirm receipt; re-sent when none comes, edge/comms/receipts.py) or
by the broker's acknowledgement (puback). Within a process paho re-sends its unacknowledged messages
after a reconnect (persistent session, client id per robot); after a restart of the process the
outbox sends every row it still holds, oldest first. Evidence JPEGs ride it like events (QoS 1, kept
until acknowledged), each right after its event. Telemetry rides the same outbox at QoS 0: when the outbox
is full it is the first to go (see edge/comms/outbox.py).

The plain availability topic (online / offline) and Home Assistant discovery ride a second, small
connection with a last will of its own (edge/comms/availability.py).

Security: TLS with a CA file and an optional client certificate (mqtt.tls), user name and
password from the config, where they come from the environment as ${VAR}. With mqtt.protocol 5 a
broker that refuses an event (an ACL) says so in its acknowledgement: the event then stays in the
outbox (MQTT 3.1.1 has no way to say it, and the broker drops it silently).
"""
from __future__ import annotations

import json
import logging
import random
import sys
import threading
import time
import uuid
from typing import Callable, Dict, Optional, Tuple

import paho.mqtt.client as mqtt

from edge.comms.availability import AvailabilityLink
from edge.comms.client import is_v5, last_word, new_client
from edge.comms.events import status_payload
from edge.comms.homeassistant import discovery_configs
from edge.comms.outbox import EVENT, EVIDENCE, KEPT, TELEMETRY, Outbox
from edge.comms.receipts import PUBACK, Confirmations
from edge.comms import topics

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, mqtt_cfg, robot_id: str, outbox: Outbox, home_assistant=None,
                 confirmations: Optional[Confirmations] = None):
        """home_assistant: the config's home_assistant section; with discovery on, the configs go out too.
        confirmations: when a row leaves the outbox (the runtime passes outbox.confirm; bare: at the PUBACK)."""
        self.cfg = mqtt_cfg
        self.robot_id = robot_id
        self.outbox = outbox
        self.topic_root = mqtt_cfg.topic_root
        self.topics = {kind: topics.robot_topic(mqtt_cfg.topic_root, robot_id, kind)
                       for kind in (topics.STATUS, topics.EVENTS, topics.TELEMETRY)}
        self.acked = 0  # events the broker acknowledged
        self.evidence_acked = 0  # evidence JPEGs the broker acknowledged
        self.unencodable = 0  # events refused before the outbox: a NaN or Infinity in them
        self.last_error: Optional[str] = None  # why the last connection attempt failed, for logs and tests
        self._answered = False  # the broker sent a CONNACK on the current connection
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._inflight: Dict[int, Tuple[int, str, bool]] = {}  # paho mid -> (outbox row id, kind, first send)
        self._early_acks: Dict[int, Optional[str]] = {}  # mid acknowledged before publish() returned -> refusal or None
        self.refused_rows: set = set()  # outbox rows of events the broker refused (MQTT 5): kept for the next start
        self._untracked_mids: set = set()  # status and command-state messages, which are not outbox rows
        self._last_sent = 0  # highest outbox row id handed to paho by this process
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pump: Optional[threading.Thread] = None
        self._handlers: Dict[str, Callable[[str, bytes], None]] = {}  # full topic -> handler
        self.confirmations = confirmations or Confirmations(outbox, robot_id, PUBACK)
        if self.confirmations.by_receipt:
            self.subscribe(topics.RECEIPTS, self.confirmations.on_receipt)

        client_id = mqtt_cfg.client_id or f"crackbot-{robot_id}"
        # A persistent session, so the broker keeps our QoS 1 state (and commands sent to us) across drop-outs;
        # under MQTT 5 it is kept by clean_start=False and an expiry, set at connect.
        self._v5 = is_v5(mqtt_cfg)
        self.client = new_client(mqtt_cfg, client_id, persistent=True)
        self.client.will_set(
            self.topics[topics.STATUS],
            json.dumps(status_payload(robot_id, "offline"), allow_nan=False),
            qos=1,
            retain=True,
        )
        # paho's back-off: the delay doubles from min to max after each failed attempt. Each robot draws
        # its own first delay (up to 1.5x), so a fleet that lost the broker together does not retry in step.
        self.reconnect_min_s = mqtt_cfg.reconnect_min_s * random.uniform(1.0, 1.5)
        self.client.reconnect_delay_set(min_delay=self.reconnect_min_s, max_delay=mqtt_cfg.reconnect_max_s)
        self.client.max_inflight_messages_set(mqtt_cfg.max_inflight)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        discovery = []
        if home_assistant is not None and home_assistant.discovery:
            discovery = discovery_configs(home_assistant.discovery_prefix, self.topic_root, robot_id)
        self.availability = AvailabilityLink(mqtt_cfg, robot_id, discovery,
                                             getattr(home_assistant, "discovery_prefix", ""))

    # paho callbacks run on its network thread
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self._answered = True  # a CONNACK came, good or bad
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            log.warning("%s", self.last_error)
            return
        self.last_error = None
        log.info("connected to %s:%s", self.cfg.host, self.cfg.port)
        for topic in list(self._handlers):  # (re)subscribe: a persistent session may not hold them
            client.subscribe(topic, qos=1)
        self._publish_status("online")
        self.confirmations.reconnected()  # a restarted broker may have lost what it acknowledged
        self._connected.set()
        self._wake.set()

    def _on_connect_fail(self, client, userdata):
        # paho calls this inside its `except OSError`, so the reason (refused, TLS verify failed) is at hand.
        exc = sys.exc_info()[1]
        reason = f"{type(exc).__name__}: {exc}" if exc else "unknown reason"
        if reason != self.last_error:
            log.warning("cannot connect to %s:%s (%s); retrying with back-off", self.cfg.host, self.cfg.port, reason)
        self.last_error = reason

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        was_connected, answered = self._connected.is_set(), self._answered
        self._connected.clear()
        self._answered = False
        # QoS 0 telemetry not yet written is gone with the link: take it off the books (best effort by design).
        with self._lock:
            lost = [(mid, row) for mid, (row, kind, _) in self._inflight.items() if kind == TELEMETRY]
            for mid, _ in lost:
                del self._inflight[mid]
        for _, row in lost:
            self.outbox.ack(row)
        if self._stop.is_set():
            return
        if was_connected:
            log.warning("disconnected from broker (%s); will reconnect", reason_code)
        elif not answered:  # dropped before any CONNACK, e.g. a TLS client certificate it does not trust
            reason = f"the broker closed the connection before accepting it ({reason_code})"
            if reason != self.last_error:
                log.warning("%s; retrying with back-off", reason)
            self.last_error = reason

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        # Only MQTT 5 acknowledgements carry a verdict: a broker may refuse a message (an ACL).
        refusal = str(reason_code) if reason_code.is_failure else None
        with self._lock:
            if mid in self._untracked_mids:
                self._untracked_mids.discard(mid)
                if refusal:
                    log.warning("broker refused a status or command answer: %s", refusal)
                return
            entry = self._inflight.pop(mid, None)
            if entry is None:
                self._early_acks[mid] = refusal
        if entry is not None:
            self._settle(*entry, refusal)

    def _settle(self, row_id: int, kind: str, first: bool, refusal: Optional[str]) -> None:
        """The broker answered for an outbox row: delivered when accepted; a refused event or JPEG stays."""
        if refusal is None or kind not in KEPT:  # refused telemetry is not worth keeping
            self._ack(row_id, kind, first)
            return
        self.refused_rows.add(row_id)
        self.last_error = f"broker refused an event: {refusal}"
        log.error("broker refused event row %d (%s); it stays in the outbox and is sent again on the next start",
                  row_id, refusal)
        self._wake.set()

    def _on_message(self, client, userdata, message):
        handler = self._handlers.get(message.topic)
        if handler is None:
            return
        try:
            handler(message.topic, message.payload)
        except Exception:  # a bad incoming message must never stop the network thread
            log.exception("handler for %s failed", message.topic)

    def subscribe(self, suffix: str, handler: Callable[[str, bytes], None]) -> str:
        """Call `handler(topic, payload)` for messages on <topic_root>/<robot_id>/<suffix>.
        Handlers run on the network thread: keep them short. Returns the full topic."""
        topic = topics.robot_topic(self.topic_root, self.robot_id, suffix)
        self._handlers[topic] = handler
        if self._connected.is_set():
            self.client.subscribe(topic, qos=1)
        return topic

    def publish_retained(self, suffix: str, payload: dict) -> None:
        """A retained QoS 1 message on <topic_root>/<robot_id>/<suffix> (command states); paho queues it
        while the link is down. Not an outbox row: the newest state is all that matters."""
        self._publish_untracked(
            topics.robot_topic(self.topic_root, self.robot_id, suffix),
            json.dumps(payload, allow_nan=False),
            qos=1,
            retain=True,
        )

    def _publish_status(self, state: str):
        payload = json.dumps(status_payload(self.robot_id, state), allow_nan=False)
        return self._publish_untracked(self.topics[topics.STATUS], payload, qos=1, retain=True)

    def _publish_untracked(self, topic: str, payload: str, qos: int, retain: bool = False):
        """Status and states: not outbox rows, so their acknowledgements must not be taken for rows'."""
        # Never hold our lock across publish(): paho calls on_publish under its own lock (deadlock).
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        with self._lock:
            if info.mid in self._early_acks:
                del self._early_acks[info.mid]
            else:
                self._untracked_mids.add(info.mid)
        return info

    def _ack(self, row_id: int, kind: str, first: bool) -> None:
        self.confirmations.delivered(row_id, kind)
        if kind == EVENT and first:  # a re-send for want of a receipt was counted the first time
            self.acked += 1
        elif kind == EVIDENCE and first:
            self.evidence_acked += 1
        self._wake.set()

    def start(self) -> None:
        """Connect in the background; an unreachable broker is retried with back-off, never fatal."""
        if self._v5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.cfg.session_expiry_s
            self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s, clean_start=False,
                                      properties=props)
        else:
            self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self.client.loop_start()
        self.availability.start()
        self._pump = threading.Thread(target=self._pump_loop, name="outbox-pump", daemon=True)
        self._pump.start()

    def _pump_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self._connected.is_set():
                self._send_pending()

    def _send_pending(self) -> None:
        with self._lock:
            room = self.cfg.max_inflight - len(self._inflight)
            after = self._last_sent
        if room <= 0:
            return
        rows = self.outbox.pending(after, room)
        for row in rows:
            self._send_row(*row, advance=True)
        for row in self.confirmations.due(room - len(rows)):  # acknowledged long ago, never confirmed
            self._send_row(*row, advance=False)

    def _send_row(self, row_id: int, topic: str, payload: bytes, qos: int, kind: str, advance: bool) -> None:
        # If the link dropped just now, paho keeps the QoS 1 message and sends it on reconnect.
        info = self.client.publish(topic, payload, qos=qos)
        refusal = None
        with self._lock:
            if advance:
                self._last_sent = row_id
            acked_already = info.mid in self._early_acks
            if acked_already:
                refusal = self._early_acks.pop(info.mid)
            elif qos == 0 and info.rc != mqtt.MQTT_ERR_SUCCESS:
                acked_already = True  # QoS 0 refused by a dropped link: best effort, let it go
            else:
                self._inflight[info.mid] = (row_id, kind, advance)
        if acked_already:
            self._settle(row_id, kind, advance, refusal)

    def publish_event(self, payload: dict) -> None:
        """Queue an event on disk first; the pump sends it when it can. An event with a number JSON
        cannot carry (NaN, Infinity) is logged and counted in `unencodable`, never sent as non-JSON."""
        try:
            data = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        except ValueError:
            self.unencodable += 1
            log.error("event %s of crack %s not published: it holds a number that is not finite",
                      payload.get("event_id"), payload.get("crack_id"))
            return
        self.outbox.put(self.topics[topics.EVENTS], data, qos=1, kind=EVENT)
        self._wake.set()
        # the newest event of each open crack stays in the outbox file (see ends_for_killed_run)
        if payload.get("crack_id") is not None:
            self.outbox.track_open(payload["crack_id"], None if payload.get("type") == "end" else data)

    def publish_evidence(self, crack_id: str, jpeg: bytes) -> None:
        """Queue a crack's evidence JPEG (raw bytes) on <root>/<robot_id>/evidence/<crack_id>, QoS 1, kept
        in the outbox until acknowledged like an event."""
        topic = topics.robot_topic(self.topic_root, self.robot_id, topics.evidence(crack_id))
        self.outbox.put(topic, jpeg, qos=1, kind=EVIDENCE)
        self._wake.set()

    def publish_telemetry(self, payload: dict) -> None:
        """Telemetry goes through the outbox too (QoS 0), so a robot out of reach reports its history when
        back; the outbox bound drops the oldest telemetry first."""
        try:
            data = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        except ValueError:
            log.warning("telemetry not published: it holds a number that is not finite")
            return
        self.outbox.put(self.topics[topics.TELEMETRY], data, qos=0, kind=TELEMETRY)
        self._wake.set()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def drain(self, timeout: float) -> bool:
        """Wait until the outbox is empty or the timeout passes; True when no event or evidence JPEG is left
        in it (every one acknowledged). Queued telemetry leaves as soon as it is written, so it only waits with them."""
        deadline = time.monotonic() + timeout
        while len(self.outbox) > len(self.refused_rows) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        return self.outbox.count(EVENT) + self.outbox.count(EVIDENCE) == 0

    @property
    def backlog(self) -> int:
        """Messages in the outbox that the broker has not acknowledged yet."""
        return len(self.outbox)

    @property
    def confirmed(self) -> int:
        """Events a registry receipt took out of the outbox (0 with outbox.confirm puback)."""
        return self.confirmations.confirmed

    @property
    def evidence_confirmed(self) -> int:
        return self.confirmations.evidence_confirmed

    @property
    def write_failures(self) -> int:
        return self.outbox.write_failures

    def ends_for_killed_run(self) -> list:
        """`end` events for the cracks an earlier run announced and never ended (it was killed): each is
        its crack's newest event with the next seq and a fresh event_id, at the time it was last seen."""
        ends = []
        for raw in self.outbox.take_open():
            try:
                last = json.loads(raw)
            except ValueError:
                continue
            ends.append({**last, "type": "end", "seq": int(last["seq"]) + 1, "event_id": uuid.uuid4().hex})
        return ends

    def close(self) -> None:
        """Close the outbox after stop(); logs any event the disk never took."""
        self.outbox.close()

    def stop(self) -> None:
        """Publish the retained `stopped` status and disconnect cleanly (no last will then)."""
        self._stop.set()
        if self._connected.is_set():
            last_word(self.client, self._publish_status("stopped"))
        self.client.loop_stop()
        self.availability.stop()
        if self._pump:
            self._pump.join(timeout=2)
