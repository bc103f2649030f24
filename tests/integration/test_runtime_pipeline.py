"""The robot runtime end to end with real parts: the shipped classifier and a real int8 segmentation
.tflite run by LiteRT, the simulated camera, the threaded pipeline, a real MQTT broker; SIGTERM drains."""
import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from edge.models.bundle import load_bundle
from edge.errors import ModelError
from edge.comms.schemas import validator
from tests.helpers import robot_stopped, wait_until
from tests.integration.helpers import ROOT, edge_run, write_sim_config

pytest.importorskip("tensorflow")  # building the test segmenter needs it; the device side never does

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def seg_bundle(tmp_path_factory):
    from tests.edge.segbundle import build_dark_segmenter

    return build_dark_segmenter(tmp_path_factory.mktemp("seg") / "dark", size=64)


def test_segmenter_follows_model_json(seg_bundle, shipped_bundle):
    from edge.models.segmenter import Segmenter
    from edge.sim import make_patch

    seg = Segmenter(load_bundle(seg_bundle))
    assert seg.model_size == (64, 64) and seg.tile_size == 227  # both read from model.json
    rgb, mask = make_patch(227, crack=True, seed=3)
    prob = seg.segment(np.stack([rgb, rgb]))
    assert prob.shape == (2, 227, 227) and 0.0 <= prob.min() and prob.max() <= 1.0
    on, off = prob[0][mask > 0].mean(), prob[0][mask == 0].mean()
    assert on > off + 0.2  # the dark crack pixels score higher than the background
    with pytest.raises(ModelError, match="expected segmentation"):
        Segmenter(load_bundle(shipped_bundle))
    meta = json.loads((seg_bundle / "model.json").read_text())
    bad = seg_bundle.parent / "bad"
    bad.mkdir(exist_ok=True)
    (bad / "model.tflite").write_bytes((seg_bundle / "model.tflite").read_bytes())
    meta["input"]["shape"] = [1, 96, 96, 3]
    meta["output"]["shape"] = [1, 96, 96, 1]
    (bad / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"shape \[1, 64, 64, 3\] != model.json \[1, 96, 96, 3\]"):
        Segmenter(load_bundle(bad))


@pytest.mark.slow
def test_cascade_publishes_measured_cracks(tmp_path, shipped_bundle, seg_bundle, mqtt_broker, mqtt_collector):
    got = mqtt_collector(mqtt_broker, "crackbot/seg-bot/#")
    config = write_sim_config(
        tmp_path, port=mqtt_broker.port, bundle=shipped_bundle, confirm="puback", robot_id="seg-bot"
    )
    proc = edge_run(config, tmp_path / "s.json", "--set", f"models.segmenter={seg_bundle}",
                    "--set", "telemetry.interval_s=0.05", "--set", f"evidence.dir={tmp_path / 'ev'}")
    assert proc.returncode == 0, proc.stderr
    assert wait_until(lambda: robot_stopped(got))
    summary = json.loads((tmp_path / "s.json").read_text())
    events = got.payloads("events")
    for payload in events:
        assert list(validator("event").iter_errors(payload)) == []
    assert summary["segmented_tiles"] > 0 and summary["events_acked"] == summary["events_published"] == len(events)
    measured = [e for e in events if e["length_mm"] is not None]
    assert measured and all(e["width_max_mm"] > 0 and e["severity"]["category"] is not None for e in measured)
    assert {e["model"]["name"] for e in events} == {"crack_classifier+dark_pixels_test"}
    crops = list((tmp_path / "ev").glob("*.jpg"))
    assert len(crops) == summary["evidence_saved"] > 0
    assert any("evidence" in e for e in events)
    assert "segment" in summary["latency_ms"] and any("segment" in t["latency_ms"] for t in got.payloads("telemetry"))
    # every event that came from a frame is timed from capture to publish; the process reports its memory
    latency = summary["capture_to_publish_ms"]
    assert 0 < latency["events"] <= len(events) and 0 < latency["p50"] <= latency["p95"]
    assert 50 < summary["peak_rss_mb"] < 4000
    assert [s["state"] for s in got.payloads("status")][-1] == "stopped"


@pytest.mark.slow
def test_sigterm_drains_and_publishes_stopped(tmp_path, shipped_bundle, mqtt_broker, mqtt_collector):
    got = mqtt_collector(mqtt_broker, "crackbot/term-bot/#")
    config = write_sim_config(
        tmp_path,
        port=mqtt_broker.port,
        bundle=shipped_bundle,
        confirm="puback",
        robot_id="term-bot",
        width=4000,
        height=2000,
        cracks=5,
    )
    summary_path = tmp_path / "s.json"
    cmd = [sys.executable, "-m", "edge", "run", "--config", str(config), "--summary", str(summary_path),
           "--set", "camera.realtime=true", "--set", "camera.fps=4"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: got.of("events") or proc.poll() is not None, 60)
        assert got.of("events"), "no event before the robot ended"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert wait_until(lambda: robot_stopped(got))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    summary = json.loads(summary_path.read_text())
    events = got.payloads("events")
    assert summary["frames"] < 15  # stopped early: the lawnmower path has 15 frames at 1000 x 700
    assert summary["events_acked"] == summary["events_published"] == len(events) > 0
    opened = {e["crack_id"] for e in events if e["type"] == "new"}
    ended = {e["crack_id"] for e in events if e["type"] == "end"}
    assert opened == ended  # every crack in view got its `end` before exit
    assert [s["state"] for s in got.payloads("status")][-1] == "stopped"
