"""The photo check on drawn photos: the reference measurement, the scoring, and the whole command
(exact masks, and the shipped models run by the real interpreter over a folder of photos)."""
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.cli import main
from edge.photocheck.reference import measure_mask as reference
from edge.photocheck.score import figures, score_photo, summarize

REPO = Path(__file__).resolve().parents[2]
SHIPPED = (REPO / "models" / "crack_classifier" / "model.tflite").is_file() \
    and (REPO / "models" / "crack_segmenter").is_dir()


def drawn_crack(seed: int, size=(320, 480), width=6):
    """A photo-like texture with one dark wandering crack of about `width` px, and its mask."""
    rng = np.random.default_rng(seed)
    h, w = size
    photo = rng.normal(150, 12, (h, w, 3)).clip(0, 255).astype(np.uint8)
    photo = cv2.GaussianBlur(photo, (3, 3), 0)
    mask = np.zeros((h, w), np.uint8)
    y = h / 2 + rng.uniform(-40, 40)
    points = []
    for x in np.linspace(30, w - 30, 12):
        y = float(np.clip(y + rng.uniform(-25, 25), 30, h - 30))
        points.append((int(x), int(y)))
    cv2.polylines(mask, [np.array(points, np.int32)], False, 255, width)
    photo[mask > 0] = (photo[mask > 0] * 0.3).astype(np.uint8)
    return photo, mask


def write_set(folder: Path, n: int, width=6):
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for i in range(n):
        photo, mask = drawn_crack(i, width=width)
        cv2.imwrite(str(folder / "images" / f"p{i:02d}.jpg"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / "masks" / f"p{i:02d}.png"), mask)


def test_reference_measures_a_straight_band_exactly():
    mask = np.zeros((80, 300), bool)
    mask[30:41, 40:260] = True  # 220 px long, 11 px wide
    (c,) = reference(mask)
    assert c.length_px == pytest.approx(220, rel=0.02)
    assert c.width_max_px == pytest.approx(11, abs=0.01) and c.width_mean_px == pytest.approx(11, abs=0.1)


def test_reference_prunes_spurs_but_keeps_branches():
    mask = np.zeros((160, 300), bool)
    mask[100:112, 20:280] = True
    mask[96:100, 60:63] = mask[96:100, 200:203] = True  # edge bumps shorter than the 12 px width
    mask[30:100, 150:156] = True  # a 70 px branch
    (c,) = reference(mask)
    assert c.length_px == pytest.approx(260 + 70, rel=0.04)
    assert c.width_max_px == pytest.approx(12, abs=1.0)  # the junction's disc is not a width


def test_reference_leaves_out_specks():
    mask = np.zeros((50, 50), bool)
    mask[10:13, 10:13] = True
    assert reference(mask) == []


def test_scoring_applies_each_tolerance():
    truth = figures([{"length": 100.0, "width_max": 10.0, "width_mean": 5.0, "width_p95": 9.0}])
    close = figures([{"length": 60.0, "width_max": 9.0, "width_mean": 4.6, "width_p95": 8.0},
                     {"length": 45.0, "width_max": 4.0, "width_mean": 4.0, "width_p95": 4.0}])
    row = score_photo(truth, close, "exact")
    assert close.length == 105.0 and close.width_max == 9.0
    assert row["length_within"] and row["width_max_within"] and row["pass"]
    wide = score_photo(truth, figures([{"length": 100.0, "width_max": 12.0, "width_mean": 5.0, "width_p95": 9}]),
                       "exact")
    assert not wide["width_max_within"] and not wide["pass"]
    assert score_photo(truth, figures([{"length": 100.0, "width_max": 12.0, "width_mean": 5.0, "width_p95": 9}]),
                       "models")["width_max_within"]
    missed = score_photo(truth, None, "models")
    s = summarize([row, wide, missed, score_photo(None, None, "exact")])
    assert s["cracked"] == 3 and s["found"] == 2 and s["both_within_pct"] == 50.0


def test_exact_masks_through_the_runtime_match_the_reference(tmp_path):
    write_set(tmp_path / "drawn", 6)
    out = tmp_path / "check.json"
    assert main(["photo-check", "--exact-only", "--data", str(tmp_path / "drawn"), "--json", str(out)]) == 0
    (result,) = json.loads(out.read_text())["sets"]
    s = result["exact"]["summary"]
    assert result["set"] == "drawn" and s["photos"] == 6 and s["found"] == 6
    assert s["length_within_pct"] == 100.0 and s["width_max_within_pct"] == 100.0
    assert "models" not in result


def test_a_bad_data_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["photo-check", "--exact-only", "--data", str(tmp_path / "empty")]) == 2
    assert "expected images/ + masks/" in capsys.readouterr().err


@pytest.mark.skipif(not SHIPPED, reason="needs the shipped models")
def test_photos_are_scenes_of_their_own_through_the_robot(tmp_path):
    # the shipped models, LiteRT, the robot's own run over a folder: no crack_id spans two photos,
    # every report is scored on its own photo, and crack-free patches count as false alarms
    pytest.importorskip("ai_edge_litert")
    write_set(tmp_path / "drawn", 8, width=7)
    negative = tmp_path / "clean" / "Negative"
    negative.mkdir(parents=True)
    for i in range(3):
        patch = np.random.default_rng(100 + i).normal(150, 12, (227, 227, 3)).clip(0, 255).astype(np.uint8)
        cv2.imwrite(str(negative / f"n{i}.png"), patch)
    out, figs = tmp_path / "check.json", tmp_path / "figs"
    assert main(["photo-check", "--data", str(tmp_path / "drawn"), "--data", str(tmp_path / "clean"),
                 "--json", str(out), "--figures", str(figs)]) == 0
    drawn, clean = json.loads(out.read_text())["sets"]
    rows = drawn["models"]["photos"]
    assert len(rows) == 8 and drawn["models"]["summary"]["cracked"] == 8
    assert drawn["models"]["summary"]["crack_ids_on_several_photos"] == 0
    assert drawn["models"]["summary"]["crack_ids"] >= sum(1 for r in rows if r["found"])
    assert clean["set"] == "clean/Negative" and clean["models"]["summary"]["photos"] == 3
    assert 0 <= clean["models"]["summary"]["false_alarms"] <= 3
    assert (figs / "drawn.png").is_file()


def test_join_gap_scales_with_the_frame():
    # 60 mm at 0.5 mm/px is 120 px: pieces 100 px apart are one crack, 200 px apart two
    from edge.frame.cascade import cracks_from_mask

    mask = np.zeros((100, 700), bool)
    mask[50:54, 10:110] = mask[50:54, 210:310] = mask[50:54, 510:610] = True
    cracks = cracks_from_mask(mask, np.zeros(0), [], 0.5, 0.5, 5, join_gap_px=60 / 0.5)
    assert sorted(c.bbox_px for c in cracks) == [(10, 50, 310, 54), (510, 50, 610, 54)]
    joined = min(cracks, key=lambda c: c.bbox_px[0])
    assert joined.length_mm == pytest.approx(2 * 100 * 0.5, rel=0.03)  # the pieces' lengths added, not the gap
    assert len(cracks_from_mask(mask, np.zeros(0), [], 0.5, 0.5, 5)) == 3
    assert math.isclose(joined.width_max_mm, 2.0, abs_tol=0.01)
