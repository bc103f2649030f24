"""End-to-end delivery that does not trust the broker's disk: the robot keeps each event until the
registry's receipt names it, so a broker SIGKILLed with acknowledged, undelivered events loses none.

Run with persistence off and with mosquitto's stock persistence (autosave every 1800 s: a kill loses
what it had not saved); `pytest ... -o log_cli=true --log-cli-level=INFO` prints the counts.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import time

import pytest

from monitor.broker import find_mosquitto, start_broker
from monitor.registry import Registry
from monitor.subscriber import Subscriber
from tests.helpers import wait_until
from tests.integration.helpers import ROOT, kill_if_running, write_sim_config

log = logging.getLogger(__name__)

pytestmark = [pytest.mark.slow, pytest.mark.broker,
              pytest.mark.skipif(find_mosquitto() is None, reason="the fault runs kill a real mosquitto")]
ROBOT = "rb-rcpt"


def _robot(config, summary) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "edge", "run", "--config", str(config), "--summary", str(summary),
           "--set", "camera.realtime=true", "--set", "camera.fps=5", "--set", "outbox.resend_after_s=2"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _delivered_unconfirmed(outbox) -> int:
    """Events the broker acknowledged that no receipt has confirmed yet (read from the robot's outbox file)."""
    try:
        db = sqlite3.connect(f"file:{outbox}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'event' AND delivered IS NOT NULL")
                       .fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _monitor(broker, registry) -> Subscriber:
    return Subscriber(broker.host, broker.port, registry, client_id="monitor-receipts", clean_session=False,
                      reconnect_min_s=0.2, reconnect_max_s=1).start()


@pytest.mark.parametrize("persistence", ["off", "stock"])
@pytest.mark.parametrize("when", ["mid_run", "monitor_away"])
def test_a_killed_broker_loses_no_event(tmp_path, shipped_bundle, persistence, when):
    broker = start_broker(kind="mosquitto", persistent=persistence == "stock", stock_autosave=True)
    registry = Registry(tmp_path / "registry.sqlite")
    config = write_sim_config(tmp_path, port=broker.port, bundle=shipped_bundle, robot_id=ROBOT,
                              width=3600, height=1400, cracks=5, seed=5)
    outbox = tmp_path / f"outbox-{ROBOT}.sqlite"
    sub = _monitor(broker, registry)
    proc = None
    try:
        assert sub.wait_connected(10)
        if when == "monitor_away":
            sub.stop()  # its persistent session stays at the broker, queueing for it
        proc = _robot(config, tmp_path / "edge.json")
        if when == "mid_run":
            assert wait_until(lambda: registry.counts(ROBOT)["events"] >= 2, 60), "no event before the crash"
        else:
            assert wait_until(lambda: _delivered_unconfirmed(outbox) >= 3, 60), "nothing acknowledged"
        held = _delivered_unconfirmed(outbox)  # acknowledged by the broker, not (yet) in the registry
        arrived = registry.counts(ROBOT)["events"]
        broker.kill()
        time.sleep(1.0)
        broker.restart()
        if when == "monitor_away":
            sub = _monitor(broker, registry)
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        edge = json.loads((tmp_path / "edge.json").read_text())
        published = edge["events_published"] + edge["cracks_ended_from_killed_run"]
        events = registry.events(ROBOT)
        ids = [e["event_id"] for e in events]
        log.info("broker killed (%s, persistence %s) with %d events in the registry and %d acknowledged, "
                 "unconfirmed: robot published %d, registry holds %d (%d distinct), duplicates dropped %d, "
                 "evidence sent %d confirmed %d", when, persistence, arrived, held, published, len(events),
                 len(set(ids)), sub.summary()["duplicates_dropped"], edge["evidence_mqtt"]["sent"],
                 edge["evidence_mqtt"]["confirmed"])
        assert published > arrived  # killed in the middle of the run
        if when == "monitor_away":
            assert held >= 3  # what a broker without its disk had taken and lost
        assert len(ids) == len(set(ids)) == published  # none lost, each once
        assert edge["events_confirmed"] == published and edge["outbox_backlog"] == 0
        assert edge["evidence_mqtt"]["confirmed"] == edge["evidence_mqtt"]["sent"] > 0
    finally:
        kill_if_running(proc)
        sub.stop()
        registry.close()
        broker.stop()
