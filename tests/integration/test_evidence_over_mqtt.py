"""Robot and monitor apart: the robot (its own process and folder) scans a simulated wall with the shipped
segmenter; the monitor (another folder) keeps what arrives over MQTT. With the robot's folder deleted, the
registry alone shows every crack's evidence JPEG and its traced centreline."""
from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
from edge.comms.schemas import SCHEMA_VERSION
from monitor.registry import Registry
from monitor.report import write_outputs
from monitor.subscriber import Subscriber
from tests.helpers import wait_until
from tests.integration.helpers import ROOT, edge_run, write_sim_config

SEGMENTER = ROOT / "models" / "crack_segmenter"


def test_every_crack_has_its_crop_and_trace_from_mqtt_alone(tmp_path, shipped_bundle, mqtt_broker):
    robot_dir, monitor_dir = tmp_path / "robot", tmp_path / "monitor"
    robot_dir.mkdir()
    monitor_dir.mkdir()
    registry = Registry(monitor_dir / "registry.sqlite")
    sub = Subscriber(mqtt_broker.host, mqtt_broker.port, registry, robot_id="ev-bot").start()
    assert sub.wait_connected(10)
    config = write_sim_config(robot_dir, port=mqtt_broker.port, bundle=shipped_bundle, robot_id="ev-bot")
    proc = edge_run(config, robot_dir / "summary.json", "--set", f"models.segmenter={SEGMENTER}",
                    "--set", f"evidence.dir={robot_dir / 'evidence'}", "--set", "evidence.mqtt_max_kb=40")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((robot_dir / "summary.json").read_text())
    sent = summary["evidence_mqtt"]
    assert sent["sent"] == sent["acked"] > 0 and sent["dropped"] == 0 and sent["largest_bytes"] <= 40 * 1024
    assert wait_until(lambda: sub.summary()["evidence_received"] == sent["sent"], timeout=15)
    assert sub.wait_until_stopped(["ev-bot"], timeout=15)
    sub.stop()
    registry.close()
    shutil.rmtree(robot_dir)  # nothing of the robot's is left to read

    registry = Registry(monitor_dir / "registry.sqlite")
    cracks = registry.cracks("ev-bot")
    assert len(cracks) == summary["cracks"] - registry.counts("ev-bot")["cracks_merged"] > 0
    assert {e["schema_version"] for e in registry.events("ev-bot")} == {SCHEMA_VERSION}
    for crack in cracks:
        jpeg = registry.evidence_jpeg("ev-bot", crack["crack_id"])
        assert jpeg is not None, crack["crack_id"]
        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and min(img.shape[:2]) >= 48
        lines = crack["trace_mm"]
        assert lines and sum(len(line) for line in lines) <= 64, crack["crack_id"]
        x0, y0, x1, y1 = crack["wall_bbox_mm"]
        for x, y, width in (v for line in lines for v in line):
            assert x0 - 1 <= x <= x1 + 1 and y0 - 1 <= y <= y1 + 1 and width >= 0  # on the crack, in mm
        assert max(v[2] for line in lines for v in line) > 0
    # the report made on the monitor's side alone embeds every crack's crop
    report = monitor_dir / "report.html"
    write_outputs(registry, "ev-bot", report_path=report)
    html = report.read_text()
    assert html.count("data:image/jpeg;base64,") >= len(cracks)
    assert all(c["crack_id"] in html for c in cracks)
    registry.close()
