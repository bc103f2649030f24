"""``python -m monitor.command``: send pause, resume or threshold to a robot and print its answer.

The request goes to <root>/<robot>/cmd/<command>/set with a fresh request_id; the robot answers on
.../cmd/<command>/state. Exit 0 when it accepted, 1 when it refused (the reason is printed),
2 for a usage error or no answer in time.
"""
from __future__ import annotations

import json
import os
import queue
import sys
import uuid
from pathlib import Path

from edge.comms import topics
from monitor import MonitorError
from monitor.args import Parser

COMMANDS = ("pause", "resume", "threshold")


def build_request(command: str, value: float | None, request_id: str) -> bytes:
    if command == "threshold":
        if value is None:
            raise MonitorError("threshold needs a value, e.g. threshold 0.6")
        return json.dumps({"value": value, "request_id": request_id}).encode()
    if value is not None:
        raise MonitorError(f"{command} takes no value")
    return json.dumps({"request_id": request_id}).encode()


def send_command(host: str, port: int, robot: str, command: str, value: float | None = None, *,
                 topic_root: str = "crackbot", timeout: float = 10.0, username: str | None = None,
                 password: str | None = None, tls=None) -> dict:
    """Send one command and return the robot's answer (command_state schema); MonitorError without one."""
    import paho.mqtt.client as mqtt

    request_id = uuid.uuid4().hex[:12]
    payload = build_request(command, value, request_id)
    set_topic = topics.robot_topic(topic_root, robot, topics.command_set(command))
    state_topic = topics.robot_topic(topic_root, robot, topics.command_state(command))
    answers: queue.Queue = queue.Queue()
    subscribed: queue.Queue = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"crackbot-cmd-{request_id}")
    if username:
        client.username_pw_set(username, password)
    if tls is not None:
        import ssl

        client.tls_set(ca_certs=tls.ca_certs, certfile=tls.certfile, keyfile=tls.keyfile,
                       cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.on_message = lambda c, u, m: answers.put(m.payload)
    client.on_subscribe = lambda *a: subscribed.put(True)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(state_topic, qos=1) if not rc.is_failure else \
        answers.put(f"refused: {rc}".encode())
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
        client.publish(set_topic, payload, qos=1).wait_for_publish(timeout)
        while True:
            try:
                raw = answers.get(timeout=timeout)
            except queue.Empty:
                raise MonitorError(f"no answer from {robot} within {timeout:g} s (is it running?)") from None
            if raw.startswith(b"refused: "):
                raise MonitorError(f"the broker refused the connection: {raw[9:].decode()}")
            try:
                answer = json.loads(raw)
            except ValueError:
                continue
            if isinstance(answer, dict) and answer.get("request_id") == request_id:
                return answer  # ours, not the retained answer to someone else's request
    finally:
        client.disconnect()
        client.loop_stop()


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m monitor.command", description=__doc__.splitlines()[0])
    p.add_argument("robot", help="robot id")
    p.add_argument("command", choices=COMMANDS)
    p.add_argument("value", nargs="?", type=float, help="threshold only: crack probability threshold, 0..1")
    p.add_argument("--host", default="localhost", help="broker host (default localhost)")
    p.add_argument("--port", type=int, default=1883, help="broker port (default 1883)")
    p.add_argument("--topic-root", default="crackbot", help="topic root (default crackbot)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer (default 10)")
    p.add_argument("--username", help="broker user name (password from $CRACKBOT_MQTT_PASSWORD)")
    p.add_argument("--cafile", type=Path, help="CA certificate: connect with TLS")
    p.add_argument("--certfile", type=Path, help="client certificate (with --keyfile)")
    p.add_argument("--keyfile", type=Path, help="private key of --certfile")
    args = p.parse_args(argv)
    from monitor.subscriber import TlsFiles

    tls = TlsFiles(str(args.cafile), args.certfile and str(args.certfile), args.keyfile and str(args.keyfile)) \
        if args.cafile else None
    try:
        answer = send_command(args.host, args.port, args.robot, args.command, args.value, topic_root=args.topic_root,
                              timeout=args.timeout, username=args.username,
                              password=os.environ.get("CRACKBOT_MQTT_PASSWORD"), tls=tls)
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = f"paused={answer['paused']} threshold={answer['threshold']}"
    if answer["accepted"]:
        print(f"{args.robot}: {args.command} accepted; now {state}")
        return 0
    print(f"{args.robot}: {args.command} refused: {answer.get('error', 'no reason given')}; still {state}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
