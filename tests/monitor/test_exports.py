"""Registry exports: CSV, GeoJSON in wall mm, per-wall crack maps, the HTML report, the live table."""
from __future__ import annotations

import csv
import io
import json

import cv2
import numpy as np
import pytest

from monitor import MonitorError
from monitor.crackmap import cracks_by_wall, draw_wall_maps, width_bands
from monitor.exports import CSV_COLUMNS, cracks_csv, cracks_geojson, write_csv
from monitor.live import render_table
from monitor.registry import Registry
from monitor.report import evidence_html, main as report_main, render_report, worst_first


@pytest.fixture
def registry(make_event, tmp_path):
    crop = tmp_path / "crops" / "c-east.png"
    crop.parent.mkdir()
    cv2.imwrite(str(crop), np.full((20, 30, 3), 128, np.uint8))
    reg = Registry(tmp_path / "registry.sqlite")
    reg.add_event(make_event(crack_id="c-hair", width_max_mm=0.05, severity={"scale": "BRE-Digest-251", "category": 0,
                                                                            "label": "0 negligible"}))
    reg.add_event(make_event(crack_id="c-wide", width_max_mm=7.5, severity={"scale": "BRE-Digest-251", "category": 3,
                                                                            "label": "3 moderate"},
                             evidence="https://robot.local/crops/c-wide.jpg",
                             wall={"id": "north", "bbox_mm": [100.0, 200.0, 400.0, 260.0],
                                   "center_mm": [250.0, 230.0]}))
    reg.add_event(make_event(robot_id="rb-02", crack_id="c-east", evidence="crops/c-east.png",
                             wall={"id": "east", "bbox_mm": [10.0, 20.0, 30.0, 40.0], "center_mm": [20.0, 30.0]}))
    reg.add_event(make_event(robot_id="rb-02", crack_id="c-nopose", width_max_mm=None, length_mm=None,
                             severity={"scale": "BRE-Digest-251", "category": None, "label": None},
                             wall={"bbox_mm": None, "center_mm": None}))
    yield reg
    reg.close()


def test_csv_one_row_per_crack_with_wall_mm(registry):
    rows = list(csv.DictReader(io.StringIO(cracks_csv(registry.cracks()))))
    assert [r["crack_id"] for r in rows] == [c["crack_id"] for c in registry.cracks()]
    assert list(rows[0]) == CSV_COLUMNS
    wide = next(r for r in rows if r["crack_id"] == "c-wide")
    placed = (wide["wall_id"], wide["wall_x0_mm"], wide["wall_y1_mm"], wide["center_x_mm"])
    assert placed == ("north", "100.0", "260.0", "250.0")
    assert (wide["severity_category"], wide["width_max_mm"]) == ("3", "7.5")
    assert wide["first_seen_utc"].endswith("Z")
    nopose = next(r for r in rows if r["crack_id"] == "c-nopose")
    assert nopose["center_x_mm"] == "" and nopose["width_max_mm"] == ""


def test_geojson_polygons_in_wall_mm(registry):
    doc = cracks_geojson(registry.cracks())
    assert doc["type"] == "FeatureCollection" and doc["crs"]["properties"]["name"] == "crackbot:wall-mm"
    features = {f["properties"]["crack_id"]: f for f in doc["features"]}
    ring = features["c-wide"]["geometry"]["coordinates"][0]
    assert ring == [[100.0, 200.0], [400.0, 200.0], [400.0, 260.0], [100.0, 260.0], [100.0, 200.0]]
    assert features["c-wide"]["properties"]["severity_category"] == 3
    assert features["c-nopose"]["geometry"] is None
    json.dumps(doc)  # serialisable as is


def test_unwritable_export_is_a_monitor_error(registry, tmp_path):
    with pytest.raises(MonitorError, match="cannot write the CSV export"):
        write_csv(registry.cracks(), tmp_path / "missing" / "cracks.csv")


def test_one_map_per_wall(registry, tmp_path):
    groups = cracks_by_wall(registry.cracks())
    assert sorted(groups) == ["east", "north", "wall"]
    maps = draw_wall_maps(registry.cracks(), tmp_path / "maps")
    assert set(maps) == {"east", "north", "wall"}
    for path in maps.values():
        img = cv2.imread(str(path))
        assert img is not None and img.shape[1] == 1600


def test_legend_bands_come_from_the_edge_scale():
    assert width_bands("BRE-Digest-251") == {0: "<0.1 mm", 1: "0.1-1 mm", 2: "1-5 mm", 3: "5-15 mm",
                                             4: "15-25 mm", 5: ">25 mm"}
    assert width_bands("unknown-scale") == {}


def test_report_worst_first_with_evidence(registry, tmp_path):
    html = render_report(registry.cracks(), registry.robots(), evidence_root=tmp_path)
    order = [c["crack_id"] for c in worst_first(registry.cracks())]
    assert order[0] == "c-wide" and order[-1] == "c-nopose"
    positions = [html.index(f"<td>{crack_id}</td>") for crack_id in order]
    assert positions == sorted(positions)
    assert 'href="https://robot.local/crops/c-wide.jpg"' in html
    assert 'src="https://' not in html  # opening the report fetches nothing
    assert "data:image/png;base64," in html  # the local crop is embedded
    assert "<td>rb-02</td>" in html


def test_evidence_cell_kinds(tmp_path):
    assert "none" in evidence_html(None)
    assert "no evidence root given: /robot/crops/x.jpg" in evidence_html("/robot/crops/x.jpg")
    assert "not on this machine: crops/x.jpg" in evidence_html("crops/x.jpg", tmp_path)
    assert "not under the evidence root: /robot/crops/x.jpg" in evidence_html("/robot/crops/x.jpg", tmp_path)
    assert "&lt;script&gt;" in evidence_html("<script>")  # escaped, never markup


def test_report_cli_from_a_registry_file(registry, tmp_path, capsys):
    out = tmp_path / "out"
    assert report_main(["--db", str(registry.path), "--out", str(out), "--evidence-root", str(tmp_path)]) == 0
    assert (out / "report.html").read_text().count("<tr>") >= 5
    assert len(list(csv.DictReader((out / "cracks.csv").open()))) == 4
    assert len(json.loads((out / "cracks.geojson").read_text())["features"]) == 4
    assert sorted(p.name for p in (out / "maps").iterdir()) == ["crack_map_east.png", "crack_map_north.png",
                                                                "crack_map_wall.png"]
    assert report_main(["--db", str(tmp_path / "absent.sqlite"), "--out", str(out)]) == 2
    assert "error: no registry at" in capsys.readouterr().err


def test_live_table_worst_first(registry):
    text = render_table(registry.cracks(), {"events_received": 4, "duplicates_dropped": 1, "invalid": 2,
                                            "status": {"rb-01": {"state": "online"}}})
    lines = text.splitlines()
    assert "events 4" in lines[0] and "invalid 2" in lines[0] and "rb-01 online" in lines[0]
    assert lines[2].split()[1] == "c-wide" and "3 moderate" in lines[2]
    assert "unmeasured" in lines[-1]
    assert "(no cracks yet)" in render_table([])
