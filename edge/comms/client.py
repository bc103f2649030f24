"""A paho-mqtt 2 client set up from the mqtt config: protocol, credentials, TLS. The publisher's main
connection and the availability connection (edge/comms/availability.py) are both made here."""
from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt

from edge.errors import ConfigError


def is_v5(mqtt_cfg) -> bool:
    return getattr(mqtt_cfg, "protocol", "3.1.1") == "5"


def new_client(mqtt_cfg, client_id: str, persistent: bool) -> mqtt.Client:
    """persistent: under 3.1.1 clean_session=False (MQTT 5 sets clean_start at connect instead)."""
    if is_v5(mqtt_cfg):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent)
    if mqtt_cfg.username:
        client.username_pw_set(mqtt_cfg.username, mqtt_cfg.password)
    if getattr(mqtt_cfg, "tls", None) is not None:
        _set_tls(client, mqtt_cfg.tls)
    return client


def _set_tls(client: mqtt.Client, tls) -> None:
    """Verify the broker against tls.ca_certs; present a client certificate when one is configured."""
    try:
        client.tls_set(ca_certs=tls.ca_certs, certfile=tls.certfile, keyfile=tls.keyfile,
                       cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    except FileNotFoundError as exc:
        raise ConfigError(f"mqtt.tls: cannot read {exc.filename or exc}") from None
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise ConfigError(f"mqtt.tls: unusable certificate or key ({exc})") from None
    client.tls_insecure_set(tls.insecure)


def last_word(client, info, timeout: float = 5.0) -> None:
    """Wait (up to `timeout`) for a final retained message to leave, then disconnect cleanly: a clean
    disconnect fires no last will, so this message is what the broker keeps."""
    try:
        info.wait_for_publish(timeout=timeout)
    except (RuntimeError, ValueError):
        pass
    client.disconnect()
