"""A robot killed with SIGKILL mid-run: the next start ends the cracks it left open."""
from __future__ import annotations

import json

import pytest

from edge.comms.outbox import Outbox
from edge.comms.publisher import Publisher
from edge.config import MqttConfig
from monitor.registry import Registry
from monitor.subscriber import Subscriber
from tests.helpers import wait_until
from tests.integration.helpers import edge_run, kill_robot_once, write_sim_config


def test_open_cracks_are_remembered_and_ended_once(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    box.track_open("c1", b'{"type": "new", "seq": 0, "crack_id": "c1", "event_id": "a"}')
    box.track_open("c1", b'{"type": "update", "seq": 2, "crack_id": "c1", "event_id": "b"}')
    box.track_open("c2", b'{"type": "new", "seq": 0, "crack_id": "c2", "event_id": "c"}')
    box.track_open("c2", None)  # ended
    box.close()
    box = Outbox(tmp_path / "o.sqlite")  # a new process
    publisher = Publisher(MqttConfig(), "rb", box)
    ends = publisher.ends_for_killed_run()
    assert [(e["crack_id"], e["type"], e["seq"]) for e in ends] == [("c1", "end", 3)]
    assert ends[0]["event_id"] not in ("a", "b")
    assert publisher.ends_for_killed_run() == []  # once


@pytest.mark.slow
def test_cracks_of_a_killed_robot_are_ended_on_its_next_start(tmp_path, mqtt_broker, shipped_bundle):
    config = write_sim_config(tmp_path, port=mqtt_broker.port, bundle=shipped_bundle, robot_id="rb-k", cracks=4)
    registry = Registry(tmp_path / "reg.sqlite")
    sub = Subscriber(mqtt_broker.host, mqtt_broker.port, registry, robot_id="rb-k").start()
    try:
        assert sub.wait_connected(10)
        # A slow robot (real time, 2 frames a second), so it is killed with cracks in view.
        kill_robot_once(config, 2, lambda: any(c["state"] != "ended" for c in registry.cracks()), 120, "no crack seen")
        open_before = {c["crack_id"] for c in registry.cracks() if c["state"] != "ended"}
        assert open_before
        proc = edge_run(config, tmp_path / "s2.json", "--max-frames", "1")
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert wait_until(lambda: all(registry.crack("rb-k", c)["state"] == "ended" for c in open_before), 20)
    finally:
        sub.stop()
        registry.close()


@pytest.mark.slow
def test_a_robot_killed_with_events_in_flight_loses_none_and_doubles_none(tmp_path, mqtt_broker, shipped_bundle):
    """Killed while events wait for their receipt: the next start sends them again, the registry keeps each once."""
    from tests.integration.helpers import outbox_events

    config = write_sim_config(tmp_path, port=mqtt_broker.port, bundle=shipped_bundle, robot_id="rb-f", cracks=4)
    outbox = tmp_path / "outbox-rb-f.sqlite"
    registry = Registry(tmp_path / "reg.sqlite")
    sub = Subscriber(mqtt_broker.host, mqtt_broker.port, registry, robot_id="rb-f").start()
    try:
        assert sub.wait_connected(10)
        kill_robot_once(config, 4, lambda: registry.counts("rb-f")["events"] >= 2, 120, "no event arrived")
        written = {event_id for _, event_id in outbox_events(outbox)} | {e["event_id"] for e in registry.events("rb-f")}
        proc = edge_run(config, tmp_path / "s2.json", "--max-frames", "2")
        assert proc.returncode == 0, proc.stderr[-2000:]
        run2 = json.loads((tmp_path / "s2.json").read_text())
        expected = len(written) + run2["cracks_ended_from_killed_run"] + run2["events_published"]
        assert run2["outbox_backlog"] == 0
        ids = [e["event_id"] for e in registry.events("rb-f")]
        assert written <= set(ids)  # nothing the killed run wrote is lost
        assert len(ids) == len(set(ids)) == expected == sub.summary()["events_received"]  # each once
    finally:
        sub.stop()
        registry.close()
