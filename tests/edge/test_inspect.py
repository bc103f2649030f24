"""python -m edge inspect: photos in, an overlay per photo, the CSV and the report out, no broker."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.cli import main
from edge.inspect.overlay import crop, draw
from edge.inspect.recorder import MaskRecorder, unpack

REPO = Path(__file__).resolve().parents[2]
SHIPPED = (REPO / "models" / "crack_classifier" / "model.tflite").is_file() \
    and (REPO / "models" / "crack_segmenter" / "model.tflite").is_file()
pytest.importorskip("jinja2")


def _photo(seed: int, size=(300, 420)) -> np.ndarray:
    """A concrete-like texture with one dark wandering crack about 6 px wide (BGR)."""
    rng = np.random.default_rng(seed)
    h, w = size
    img = cv2.GaussianBlur(rng.normal(150, 12, (h, w, 3)).clip(0, 255).astype(np.uint8), (3, 3), 0)
    y, points = h / 2, []
    for x in np.linspace(20, w - 20, 10):
        y = float(np.clip(y + rng.uniform(-25, 25), 30, h - 30))
        points.append((int(x), int(y)))
    mask = np.zeros((h, w), np.uint8)
    cv2.polylines(mask, [np.array(points, np.int32)], False, 255, 6)
    img[mask > 0] = (img[mask > 0] * 0.3).astype(np.uint8)
    return img


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"wall_{i}.jpg"), _photo(i))
    (folder / "broken.jpg").write_bytes(b"not a jpeg")  # skipped and said so, never a crash
    return folder


@pytest.mark.skipif(not SHIPPED, reason="the shipped models are not in this checkout")
def test_inspect_writes_overlays_csv_and_report(photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["inspect", str(photos), "--out", str(out), "--mm-per-px", "0.5", "--site", "Harbour <Road>",
                 "--inspector", "A. Engineer", "--json", str(tmp_path / "s.json")]) == 0
    assert sorted(p.name for p in (out / "overlays").iterdir()) == ["wall_0.jpg", "wall_1.jpg", "wall_2.jpg"]
    rows = list(csv.DictReader((out / "cracks.csv").open()))
    assert {r["photo"] for r in rows} == {"wall_0.jpg", "wall_1.jpg", "wall_2.jpg"}  # a crack found on each
    assert all(r["units"] == "mm" and float(r["width_max"]) > 0 and r["severity_label"] for r in rows)
    html = (out / "report.html").read_text()
    assert "Harbour &lt;Road&gt;" in html and "A. Engineer" in html and "0.5 mm per pixel" in html
    assert html.count('<img class="crop" src="data:image/jpeg;base64,') == len(rows)
    assert "broken.jpg" in html and "not read" in html
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["photos"] == 4 and summary["photos_analysed"] == 3 and summary["cracks"] == len(rows)
    assert "inspect: 4 photos (3 analysed)" in capsys.readouterr().out


@pytest.mark.skipif(not SHIPPED, reason="the shipped models are not in this checkout")
def test_without_a_scale_sizes_are_pixels_and_no_severity(photos, tmp_path):
    out = tmp_path / "out"
    assert main(["inspect", str(photos / "wall_0.jpg"), "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "cracks.csv").open()))
    assert rows and all(r["units"] == "px" and r["severity_category"] == "" for r in rows)
    assert "none given: sizes in pixels" in (out / "report.html").read_text()


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "absent"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    (tmp_path / "empty").mkdir()
    assert main(["inspect", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no photos" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "empty"), "--out", str(tmp_path / "out"), "--mm-per-px", "-1"]) == 2
    assert "--mm-per-px must be > 0" in capsys.readouterr().err


def test_overlay_tints_the_recorded_pixels_inside_the_report_box():
    rgb = np.full((60, 80, 3), 200, np.uint8)
    mask = np.zeros((10, 20), bool)
    mask[4:6, :] = True
    ok, png = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    assert ok and (unpack(png.tobytes()) == mask).all()
    report = {"frame": {"bbox_px": [10, 20, 30, 30]}, "severity": {"category": 4}, "length_mm": 10.0,
              "width_max_mm": 1.0, "width_mean_mm": 1.0}
    out = draw(rgb, [report], [((10, 20, 30, 30), png.tobytes())], "mm", scaled=True)
    assert tuple(out[25, 15]) != (200, 200, 200) and out[25, 15, 0] > out[25, 15, 2]  # tinted red (severe)
    assert crop(out, (10, 20, 30, 30), side=40).shape[:2] <= (40, 40)


def test_recorder_keeps_each_frames_cracks():
    class Result:
        cracks = [type("C", (), {"bbox_px": (1, 2, 5, 6), "mask": np.ones((4, 4), bool)})()]

    class Analyzer:
        tile_size = 227

        def analyze(self, frame, threshold, timer=None):
            return Result()

    recorder = MaskRecorder(Analyzer())
    recorder.analyze(type("F", (), {"index": 7})(), 0.5)
    (box, png), = recorder.cracks[7]
    assert box == (1, 2, 5, 6) and unpack(png).all() and recorder.tile_size == 227
