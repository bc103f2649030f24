"""``python -m monitor.command``: send pause, resume or threshold to a robot and say what became of it.

The request goes to <root>/<robot>/cmd/<command>/set with a fresh request_id, the sender's clock as
sent_at and --expiry as expiry_s (with --protocol 5 also as the message expiry, so the broker drops it
once expired); the robot answers on .../cmd/<command>/state. What it prints, and the exit status:

  0  applied   the robot accepted it
  1  refused   the robot refused it; the reason follows (expired: it waited longer than its expiry)
  2            a usage error, or the broker could not be reached, refused us or did not take the command
  3  queued    the broker took it (acknowledged) but the robot did not answer within --timeout (it is
               offline?): a robot with a session at the broker gets it when it comes back, and applies
               it only if that is within its expiry
  4  dropped   MQTT 5 only: the broker took it but no one subscribes to it (the robot never connected, or
               its session expired); nothing will happen
"""
from __future__ import annotations

import json
import math
from argparse import RawDescriptionHelpFormatter
import os
import queue
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from edge.comms import topics
from monitor import MonitorError
from monitor.args import Parser, port, positive

COMMANDS = ("pause", "resume", "threshold")
APPLIED, REFUSED, QUEUED, DROPPED = "applied", "refused", "queued", "dropped"
EXIT_CODES = {APPLIED: 0, REFUSED: 1, QUEUED: 3, DROPPED: 4}
NO_MATCHING_SUBSCRIBERS = 16  # MQTT 5 PUBACK reason code 0x10


@dataclass(frozen=True)
class Outcome:
    kind: str  # applied, refused, queued or dropped
    answer: dict | None = None  # the robot's answer (command_state schema) when it gave one
    availability: str | None = None  # the robot's retained availability, when there is one


def build_request(command: str, value: float | None, request_id: str, sent_at: float | None = None,
                  expiry_s: float | None = None) -> bytes:
    if command == "threshold":
        if value is None:
            raise MonitorError("threshold needs a value, e.g. threshold 0.6")
        request = {"value": value, "request_id": request_id}
    elif value is not None:
        raise MonitorError(f"{command} takes no value")
    else:
        request = {"request_id": request_id}
    if sent_at is not None:
        request["sent_at"] = round(sent_at, 3)
        if expiry_s is not None:
            request["expiry_s"] = expiry_s
    return json.dumps(request).encode()


def send_command(host: str, port: int, robot: str, command: str, value: float | None = None, *,
                 topic_root: str = "crackbot", timeout: float = 10.0, expiry_s: float = 60.0,
                 protocol: str = "3.1.1", username: str | None = None, password: str | None = None,
                 tls=None) -> Outcome:
    """Send one command and return what became of it; MonitorError when the broker did not take it."""
    import paho.mqtt.client as mqtt

    request_id = uuid.uuid4().hex[:12]
    payload = build_request(command, value, request_id, time.time(), expiry_s)
    set_topic = topics.robot_topic(topic_root, robot, topics.command_set(command))
    state_topic = topics.robot_topic(topic_root, robot, topics.command_state(command))
    availability_topic = topics.robot_topic(topic_root, robot, topics.AVAILABILITY)
    answers: queue.Queue = queue.Queue()
    subscribed: queue.Queue = queue.Queue()
    acks: queue.Queue = queue.Queue()
    availability: list = []
    v5 = protocol == "5"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"crackbot-cmd-{request_id}",
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    if tls is not None:
        import ssl

        client.tls_set(ca_certs=tls.ca_certs, certfile=tls.certfile, keyfile=tls.keyfile,
                       cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def on_message(c, u, m):
        if m.topic == availability_topic:
            availability.append(m.payload.decode("utf-8", "replace"))
        else:
            answers.put(m.payload)

    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.put(True)
    client.on_publish = lambda c, u, mid, rc, p: acks.put(rc)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe([(state_topic, 1), (availability_topic, 1)]) \
        if not rc.is_failure else answers.put(f"refused: {rc}".encode())
    try:
        client.connect(host, port)
    except (OSError, ValueError) as exc:
        raise MonitorError(f"cannot reach the broker at {host}:{port}: {exc}") from None
    client.loop_start()
    try:
        try:
            subscribed.get(timeout=timeout)
        except queue.Empty:
            raise MonitorError(f"the broker at {host}:{port} did not accept us within {timeout:g} s") from None
        properties = None
        if v5:  # the broker drops it once expired, wherever it waits
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.PUBLISH)
            properties.MessageExpiryInterval = max(1, math.ceil(expiry_s))
        client.publish(set_topic, payload, qos=1, properties=properties)
        try:
            ack = acks.get(timeout=timeout)
        except queue.Empty:
            raise MonitorError(f"the broker did not acknowledge the command within {timeout:g} s") from None
        if ack.is_failure:
            raise MonitorError(f"the broker refused the command: {ack}")
        dropped = v5 and ack.value == NO_MATCHING_SUBSCRIBERS
        deadline = time.monotonic() + timeout
        while not dropped:
            try:
                raw = answers.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return Outcome(QUEUED, availability=availability[-1] if availability else None)
            if raw.startswith(b"refused: "):
                raise MonitorError(f"the broker refused the connection: {raw[9:].decode()}")
            try:
                answer = json.loads(raw)
            except ValueError:
                continue
            if isinstance(answer, dict) and answer.get("request_id") == request_id:
                # ours, not the retained answer to someone else's request
                return Outcome(APPLIED if answer.get("accepted") else REFUSED, answer)
        return Outcome(DROPPED, availability=availability[-1] if availability else None)
    finally:
        client.disconnect()
        client.loop_stop()


def describe(robot: str, command: str, outcome: Outcome, timeout: float, expiry_s: float) -> str:
    """The one line main() prints for an outcome."""
    answer = outcome.answer or {}
    state = f"paused={answer.get('paused')} threshold={answer.get('threshold')}"
    if outcome.kind == APPLIED:
        return f"{robot}: {command} applied; now {state}"
    if outcome.kind == REFUSED:
        return f"{robot}: {command} refused: {answer.get('error', 'no reason given')}; still {state}"
    seen = f" (its availability: {outcome.availability})" if outcome.availability else ""
    if outcome.kind == DROPPED:
        return (f"{robot}: {command} dropped: the broker has no subscriber for it{seen}; {robot} never connected "
                f"or its session expired")
    return (f"{robot}: {command} queued: the broker took it but {robot} did not answer within {timeout:g} s{seen}; "
            f"it is applied when {robot} comes back only if that is within {expiry_s:g} s of sending")


def main(argv: list[str] | None = None) -> int:
    head, _, codes = __doc__.partition("What it prints, and the exit status:")
    p = Parser(prog="python -m monitor.command", description=head.strip(),
               epilog="what it prints, and the exit status:" + codes, formatter_class=RawDescriptionHelpFormatter)
    p.add_argument("robot", help="robot id")
    p.add_argument("command", choices=COMMANDS)
    p.add_argument("value", nargs="?", type=float, help="threshold only: crack probability threshold, 0..1")
    p.add_argument("--host", default="localhost", help="broker host (default localhost)")
    p.add_argument("--port", type=port, default=1883, help="broker port (default 1883)")
    p.add_argument("--topic-root", default="crackbot", help="topic root (default crackbot)")
    p.add_argument("--timeout", type=positive, default=10.0, help="seconds to wait for the answer (default 10)")
    p.add_argument("--expiry", type=positive, default=60.0, metavar="S",
                   help="the robot applies the command only within S seconds of sending (default 60)")
    p.add_argument("--protocol", choices=("3.1.1", "5"), default="3.1.1",
                   help="MQTT version (default 3.1.1); 5 also lets the broker drop the command once expired")
    p.add_argument("--username", help="broker user name (password from $CRACKBOT_MQTT_PASSWORD)")
    p.add_argument("--cafile", type=Path, help="CA certificate: connect with TLS")
    p.add_argument("--certfile", type=Path, help="client certificate (with --keyfile)")
    p.add_argument("--keyfile", type=Path, help="private key of --certfile")
    args = p.parse_args(argv)
    from monitor.subscriber import TlsFiles

    tls = TlsFiles(str(args.cafile), args.certfile and str(args.certfile), args.keyfile and str(args.keyfile)) \
        if args.cafile else None
    try:
        outcome = send_command(args.host, args.port, args.robot, args.command, args.value,
                               topic_root=args.topic_root, timeout=args.timeout, expiry_s=args.expiry,
                               protocol=args.protocol, username=args.username,
                               password=os.environ.get("CRACKBOT_MQTT_PASSWORD"), tls=tls)
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(describe(args.robot, args.command, outcome, args.timeout, args.expiry))
    return EXIT_CODES[outcome.kind]


if __name__ == "__main__":
    raise SystemExit(main())
