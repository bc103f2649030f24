"""MQTT publisher (paho-mqtt 2 callback API): retained status, last will, events from the outbox.

Events are sent in outbox order at QoS 1 and deleted from the outbox only in on_publish, i.e.
when the broker acknowledged them. Within a process paho re-sends its unacknowledged messages
after a reconnect; after a restart of the process the outbox sends every row it still holds.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, Dict, Optional

import paho.mqtt.client as mqtt

from .events import status_payload
from .outbox import Outbox

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, mqtt_cfg, robot_id: str, outbox: Outbox):
        self.cfg = mqtt_cfg
        self.robot_id = robot_id
        self.outbox = outbox
        root = f"{mqtt_cfg.topic_root}/{robot_id}"
        self.topics = {name: f"{root}/{name}" for name in ("status", "events", "telemetry")}
        self.acked = 0  # events the broker acknowledged
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._inflight: Dict[int, int] = {}  # paho mid -> outbox row id
        self._early_acks: set = set()  # mids acknowledged before publish() returned to us
        self._untracked_mids: set = set()  # status and telemetry messages, which are not outbox rows
        self._last_sent = 0  # highest outbox row id handed to paho by this process
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pump: Optional[threading.Thread] = None
        self._handlers: Dict[str, Callable[[str, bytes], None]] = {}  # full topic -> handler

        client_id = mqtt_cfg.client_id or f"crackbot-{robot_id}"
        # A persistent session, so the broker keeps our QoS 1 state across short drop-outs.
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        if mqtt_cfg.username:
            self.client.username_pw_set(mqtt_cfg.username, mqtt_cfg.password)
        self.client.will_set(self.topics["status"], json.dumps(status_payload(robot_id, "offline")), qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=int(max(1, mqtt_cfg.reconnect_min_s)), max_delay=int(mqtt_cfg.reconnect_max_s))
        self.client.max_inflight_messages_set(mqtt_cfg.max_inflight)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message

    # paho callbacks run on its network thread
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s:%s", self.cfg.host, self.cfg.port)
        for topic in list(self._handlers):  # (re)subscribe: a persistent session may not hold them
            client.subscribe(topic, qos=1)
        self._publish_status("online")
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected from broker (%s); will reconnect", reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self._lock:
            if mid in self._untracked_mids:
                self._untracked_mids.discard(mid)
                return
            row_id = self._inflight.pop(mid, None)
            if row_id is None:
                self._early_acks.add(mid)
        if row_id is not None:
            self._ack(row_id)

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
        topic = f"{self.cfg.topic_root}/{self.robot_id}/{suffix}"
        self._handlers[topic] = handler
        if self._connected.is_set():
            self.client.subscribe(topic, qos=1)
        return topic

    def _publish_status(self, state: str):
        payload = json.dumps(status_payload(self.robot_id, state))
        return self._publish_untracked(self.topics["status"], payload, qos=1, retain=True)

    def _publish_untracked(self, topic: str, payload: str, qos: int, retain: bool = False):
        """Status and telemetry: not outbox rows, so their acknowledgements must not be taken for rows'."""
        # Never hold our lock across publish(): paho calls on_publish under its own lock (deadlock).
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        with self._lock:
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
            else:
                self._untracked_mids.add(info.mid)
        return info

    def _ack(self, row_id: int) -> None:
        self.outbox.ack(row_id)
        self.acked += 1
        self._wake.set()

    def start(self) -> None:
        """Connect in the background; an unreachable broker is retried with back-off, never fatal."""
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self.client.loop_start()
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
        for row_id, topic, payload, qos in self.outbox.pending(after, room):
            # If the link dropped just now, paho keeps the QoS 1 message and sends it on reconnect.
            info = self.client.publish(topic, payload, qos=qos)
            with self._lock:
                self._last_sent = row_id
                acked_already = info.mid in self._early_acks
                if acked_already:
                    self._early_acks.discard(info.mid)
                else:
                    self._inflight[info.mid] = row_id
            if acked_already:
                self._ack(row_id)

    def publish_event(self, payload: dict) -> None:
        """Queue an event on disk first; the pump sends it when it can."""
        self.outbox.put(self.topics["events"], json.dumps(payload, separators=(",", ":")).encode(), qos=1)
        self._wake.set()

    def publish_telemetry(self, payload: dict) -> None:
        """Telemetry is best effort (QoS 0) and never queued: a stale reading is worth nothing."""
        if self._connected.is_set():
            self._publish_untracked(self.topics["telemetry"], json.dumps(payload), qos=0)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def drain(self, timeout: float) -> bool:
        """Wait until the outbox is empty (every event acknowledged) or the timeout passes."""
        deadline = time.monotonic() + timeout
        while len(self.outbox) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        return len(self.outbox) == 0

    def stop(self) -> None:
        """Publish the retained `stopped` status and disconnect cleanly (no last will then)."""
        self._stop.set()
        if self._connected.is_set():
            info = self._publish_status("stopped")
            try:
                info.wait_for_publish(timeout=5)
            except (RuntimeError, ValueError):
                pass
            self.client.disconnect()
        self.client.loop_stop()
        if self._pump:
            self._pump.join(timeout=2)
