"""Every payload the robot publishes (status, events, telemetry) validates against its JSON Schema; availability
is plain text."""
import json

from edge.comms.schemas import validator
from tests.helpers import robot_stopped, wait_until
from tests.integration.helpers import edge_run, write_sim_config


def test_status_events_and_telemetry_match_their_schemas(tmp_path, shipped_bundle, mqtt_broker, mqtt_collector):
    got = mqtt_collector(mqtt_broker, "crackbot/schema-bot/#")
    config = write_sim_config(
        tmp_path, port=mqtt_broker.port, bundle=shipped_bundle, confirm="puback", robot_id="schema-bot"
    )
    proc = edge_run(config, tmp_path / "s.json", "--set", "telemetry.interval_s=0.05")
    assert proc.returncode == 0, proc.stderr
    assert wait_until(lambda: robot_stopped(got))
    assert wait_until(lambda: [m.payload for m in got.of("availability")][-1:] == [b"offline"])
    assert [m.payload for m in got.of("availability")] == [b"online", b"offline"]
    evidence = [m for m in got.of() if "/evidence/" in m.topic]  # JPEGs, not JSON
    assert evidence and all(m.payload[:3] == b"\xff\xd8\xff" and m.qos == 1 for m in evidence)
    received = [(m.topic, m.retain, m.json()) for m in got.of() if m.kind != "availability" and m not in evidence]

    by_kind = {}
    schema_of = {"events": "event", "status": "status", "telemetry": "telemetry", "state": "command_state"}
    for topic, _retain, payload in received:
        kind = topic.rsplit("/", 1)[-1]  # .../cmd/<command>/state answers commands
        by_kind.setdefault(kind, []).append(payload)
        errors = [e.message for e in validator(schema_of[kind]).iter_errors(payload)]
        assert errors == [], (topic, errors)
    assert [p["state"] for p in by_kind["status"]] == ["online", "stopped"]
    assert by_kind["events"] and by_kind["telemetry"]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert len(by_kind["events"]) == summary["events_published"]
