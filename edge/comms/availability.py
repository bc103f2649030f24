"""The plain availability topic, <root>/<robot_id>/availability: retained `online` / `offline`.

MQTT gives a connection one last will, and the main connection's is the JSON status (offline). So
availability has a small connection of its own (client id <client id>-availability, clean session)
whose will is `offline`: a robot that dies loses both connections at once and both wills fire. On that
connection the Home Assistant discovery configs go out too (home_assistant.discovery), at every
connect and again when Home Assistant announces itself on <prefix>/status.
"""
from __future__ import annotations

import logging
from typing import List, Tuple

from edge.comms import topics
from edge.comms.client import last_word, new_client

log = logging.getLogger(__name__)


class AvailabilityLink:
    def __init__(self, mqtt_cfg, robot_id: str, discovery: List[Tuple[str, str]] = (), discovery_prefix: str = ""):
        """discovery: (topic, payload) configs to publish retained (edge/comms/homeassistant.py); empty: none."""
        self.cfg = mqtt_cfg
        self.topic = topics.robot_topic(mqtt_cfg.topic_root, robot_id, topics.AVAILABILITY)
        self.discovery = list(discovery)
        self._ha_status = topics.discovery_status(discovery_prefix) if self.discovery else None
        client_id = f"{mqtt_cfg.client_id or f'crackbot-{robot_id}'}-availability"
        self.client = new_client(mqtt_cfg, client_id, persistent=False)
        self.client.will_set(self.topic, topics.NOT_AVAILABLE, qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=mqtt_cfg.reconnect_min_s, max_delay=mqtt_cfg.reconnect_max_s)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._started = False

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            return  # the main connection logs why the broker refuses us
        self._publish_discovery()  # before `online`: whoever sees online finds the configs already there
        client.publish(self.topic, topics.AVAILABLE, qos=1, retain=True)
        if self._ha_status:
            client.subscribe(self._ha_status, qos=1)

    def _on_message(self, client, userdata, message):
        if message.topic == self._ha_status and message.payload == b"online":  # Home Assistant restarted
            self._publish_discovery()

    def _publish_discovery(self) -> None:
        for topic, payload in self.discovery:
            self.client.publish(topic, payload, qos=1, retain=True)

    def start(self) -> None:
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self.client.loop_start()
        self._started = True

    def stop(self) -> None:
        """`offline`, retained, and a clean disconnect (so no will)."""
        if not self._started:
            return
        if self.client.is_connected():
            last_word(self.client, self.client.publish(self.topic, topics.NOT_AVAILABLE, qos=1, retain=True))
        self.client.loop_stop()
        self._started = False
