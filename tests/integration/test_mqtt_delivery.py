"""Nothing is lost: the real robot process and a real broker, with crashes in the middle of a run.

The broker is SIGKILLed and restarted while the robot publishes; the robot is SIGKILLed while it
cannot reach the broker and started again. The registry is counted afterwards: every event the
robot published is there exactly once.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from monitor.broker import find_mosquitto, free_port, start_broker
from monitor.registry import Registry
from monitor.subscriber import Subscriber
from tests.helpers import wait_until
from tests.integration.helpers import ROOT, edge_run, kill_if_running, outbox_events, write_sim_config

log = logging.getLogger(__name__)  # the counts, for `pytest -o log_cli=true --log-cli-level=INFO`


def _edge_process(config, summary, *extra) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "edge", "run", "--config", str(config), "--summary", str(summary), *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.broker
@pytest.mark.skipif(find_mosquitto() is None, reason="a broker that keeps sessions across a kill needs mosquitto")
def test_broker_killed_mid_run_every_event_arrives_exactly_once(tmp_path, shipped_bundle):
    # persistent: the subscriber's session survives the crash, as on a production broker.
    broker = start_broker(kind="mosquitto", persistent=True)
    registry = Registry(tmp_path / "registry.sqlite")
    sub = Subscriber(broker.host, broker.port, registry, client_id="monitor-under-test", clean_session=False,
                     reconnect_min_s=0.2, reconnect_max_s=1)
    proc = None
    try:
        sub.start()
        assert sub.wait_connected(10)
        time.sleep(1.2)  # the broker saves the new session on its next autosave (every second of changes)
        config = write_sim_config(tmp_path, port=broker.port, bundle=shipped_bundle, robot_id="rb-crash",
                                  width=3600, height=1400, cracks=5, seed=5)
        proc = _edge_process(config, tmp_path / "edge.json", "--set", "camera.realtime=true",
                             "--set", "camera.fps=5")
        assert wait_until(lambda: registry.counts("rb-crash")["events"] >= 2, 30), "no event arrived before the crash"
        broker.kill()
        killed_with = registry.counts("rb-crash")["events"]
        time.sleep(1.0)
        broker.restart()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        edge = json.loads((tmp_path / "edge.json").read_text())
        assert edge["events_published"] > killed_with  # the crash really was in the middle of the run
        assert wait_until(lambda: registry.counts("rb-crash")["events"] >= edge["events_published"], 20)
        time.sleep(0.5)  # a late duplicate, if any, would show now
        counts = registry.counts("rb-crash")
        assert counts["events"] == edge["events_published"] == edge["events_acked"]
        events = registry.events("rb-crash")
        assert len({e["event_id"] for e in events}) == len(events) == edge["events_published"]
        assert edge["outbox_backlog"] == 0
        summary = sub.summary()
        log.info("broker killed after %d events arrived: robot published %d, broker acknowledged %d, registry holds %d "
                 "(%d duplicates dropped), subscriber connected %d times", killed_with, edge["events_published"],
                 edge["events_acked"], counts["events"], summary["duplicates_dropped"], summary["connects"])
        assert summary["events_received"] == edge["events_published"]
        assert summary["connects"] >= 2  # the subscriber did lose the broker and came back
    finally:
        kill_if_running(proc)
        sub.stop()
        registry.close()
        broker.stop()


@pytest.mark.slow
def test_edge_killed_mid_run_the_outbox_resumes_in_order(tmp_path, shipped_bundle, mqtt_broker):
    registry = Registry(tmp_path / "registry.sqlite")
    arrived: list[str] = []
    sub = Subscriber(mqtt_broker.host, mqtt_broker.port, registry, robot_id="rb-kill",
                     on_event=lambda event, new: arrived.append(event["event_id"]))
    sub.start()
    try:
        assert sub.wait_connected(10)
        # Run 1: out of reach of any broker (a tunnel), killed after a few events.
        config = write_sim_config(tmp_path, port=free_port(), bundle=shipped_bundle, robot_id="rb-kill",
                                  width=3600, height=1400, cracks=5, seed=5)
        outbox = tmp_path / "outbox-rb-kill.sqlite"
        proc = _edge_process(config, tmp_path / "run1.json", "--set", "camera.realtime=true", "--set", "camera.fps=8")
        try:
            assert wait_until(lambda: outbox.exists() and len(outbox_events(outbox)) >= 3, 60), proc.stderr
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        waiting = outbox_events(outbox)
        assert not (tmp_path / "run1.json").exists()  # it died: no summary

        # Run 2: same outbox, the broker is reachable now.
        proc2 = edge_run(config, tmp_path / "run2.json", "--set", f"mqtt.port={mqtt_broker.port}")
        assert proc2.returncode == 0, proc2.stderr[-2000:]
        run2 = json.loads((tmp_path / "run2.json").read_text())
        assert run2["outbox_backlog_at_start"] >= len(waiting)
        # ... plus an `end` for each crack the killed run left open, sent before the new run's own events
        expected = len(waiting) + run2["cracks_ended_from_killed_run"] + run2["events_published"]
        assert run2["events_acked"] == expected and run2["outbox_backlog"] == 0
        assert wait_until(lambda: len(arrived) >= expected, 20)
        # Every event of the killed run arrived, first, in the order it was written; nothing twice.
        assert arrived[:len(waiting)] == [event_id for _, event_id in waiting]
        assert len(set(arrived)) == len(arrived) == expected == registry.counts("rb-kill")["events"]
        log.info("robot killed with %d events in its outbox; the restart sent them first, then its own %d: "
                 "%d in the registry", len(waiting), run2["events_published"], len(arrived))
    finally:
        sub.stop()
        registry.close()


def test_three_robots_on_one_broker_are_kept_apart(tmp_path, shipped_bundle, mqtt_broker):
    registry = Registry(tmp_path / "registry.sqlite")
    only_two = Registry()
    sub = Subscriber(mqtt_broker.host, mqtt_broker.port, registry)
    sub_two = Subscriber(mqtt_broker.host, mqtt_broker.port, only_two, robot_id="rb-2")
    robots = ["rb-1", "rb-2", "rb-3"]
    procs = {}
    try:
        sub.start()
        sub_two.start()
        assert sub.wait_connected(10) and sub_two.wait_connected(10)
        for i, robot in enumerate(robots):
            config = write_sim_config(tmp_path, port=mqtt_broker.port, bundle=shipped_bundle, robot_id=robot,
                                      width=1800, height=1200, cracks=2, seed=11 + i)
            procs[robot] = _edge_process(config, tmp_path / f"{robot}.json", "--set", "models.threads=1")
        for robot, proc in procs.items():
            _, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, (robot, err[-2000:])
        assert sub.wait_until_stopped(robots, timeout=20)
        summaries = {r: json.loads((tmp_path / f"{r}.json").read_text()) for r in robots}
        assert wait_until(lambda: all(registry.counts(r)["events"] == summaries[r]["events_published"]
                                      for r in robots), 20)
        for robot in robots:
            assert summaries[robot]["events_published"] > 0
            cracks = registry.cracks(robot)
            assert len(cracks) == summaries[robot]["cracks"]
            assert all(c["robot_id"] == robot for c in cracks)
            assert all(e["robot_id"] == robot for e in registry.events(robot))
        assert {r["robot_id"] for r in registry.robots()} == set(robots)
        assert registry.counts()["events"] == sum(s["events_published"] for s in summaries.values())
        assert wait_until(lambda: only_two.counts()["events"] == summaries["rb-2"]["events_published"], 30)
        assert {c["robot_id"] for c in only_two.cracks()} == {"rb-2"}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        sub.stop()
        sub_two.stop()
        registry.close()
