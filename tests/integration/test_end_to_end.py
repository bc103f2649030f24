"""The whole road: train a tiny model, convert it, scan a synthetic wall, check the subscriber's map.

Tolerance: tile-level detection places a crack within one tile of its true extent, so every reported
wall box must overlap a known crack's box and lie within one tile (in mm) of it on every side.
"""
import json

import pytest

from edge.sim import render_wall
from monitor.registry import Registry
from monitor.scoring import known_boxes_mm, score
from monitor.subscriber import Subscriber
from tests.integration.helpers import edge_run, write_sim_config

pytestmark = [pytest.mark.tf, pytest.mark.slow]

WALL = dict(width_px=2400, height_px=1400, n_cracks=3, kind="concrete", seed=3, mm_per_px=0.5)


def test_tiny_model_to_subscriber_positions_match_known_cracks(tmp_path, mqtt_broker):
    from convert.classifier_bundle import convert_run
    from train.fit import fit
    from train.options import TINY, resolve_config

    # A small model at 112 px: trains in about 30 s here and finds most synthetic crack tiles.
    recipe = dict(TINY, input_size=112, width=0.5, synthetic=1200, epochs=10, patience=20)
    run = fit(resolve_config(overrides=recipe), out=tmp_path / "runs", name="tiny")
    info = convert_run(run.model_path, tmp_path / "bundle", name="tiny", max_drop_points=5)
    tile_mm = info.tile.size * WALL["mm_per_px"]

    config = write_sim_config(tmp_path, port=mqtt_broker.port, bundle=tmp_path / "bundle", robot_id="e2e",
                              width=WALL["width_px"], height=WALL["height_px"], cracks=WALL["n_cracks"],
                              seed=WALL["seed"])
    registry = Registry(tmp_path / "registry.sqlite")
    with Subscriber(mqtt_broker.host, mqtt_broker.port, registry, robot_id="e2e") as sub:
        assert sub.wait_connected(timeout=15)
        # A model trained for seconds is unsure near 0.5; a stricter threshold keeps stray tiles out.
        proc = edge_run(config, tmp_path / "edge.json", "--set", "models.threshold=0.8")
        assert proc.returncode == 0, proc.stderr
        assert sub.wait_until_stopped(["e2e"], timeout=20)
    edge = json.loads((tmp_path / "edge.json").read_text())
    received = sub.summary()
    assert edge["events_acked"] == edge["events_published"] == received["events_received"]
    assert received["invalid"] == 0

    cracks = registry.cracks("e2e")
    truth = known_boxes_mm(render_wall(**WALL))
    result = score(cracks, truth, tolerance_mm=tile_mm)
    # A model trained for seconds may miss a faint crack or fire on stray tiles (how many depends on the
    # machine it trained on: the same seed gives 0 here and 2 on another CPU), but most of what it
    # reports must be where a known crack is, within one tile.
    assert result["found"] >= 2, result
    matched = len(cracks) - len(result["unmatched_reports"])
    assert matched >= 2 and matched > len(result["unmatched_reports"]), result
    assert all(c["wall_bbox_mm"] is not None for c in cracks)
