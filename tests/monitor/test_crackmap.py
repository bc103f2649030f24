"""The crack map PNG: size, what is drawn, cracks without a wall position, unwritable paths."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from monitor import MonitorError
from monitor.crackmap import (IMAGE_WIDTH, MARGIN_LEFT, MARGIN_RIGHT, SEVERITY_COLOURS, draw_crack_map,
                              render_crack_map, severity_colour, wall_extent)


def crack(crack_id: str, box, category=None, confidence=0.9, state="new", robot="rb-01") -> dict:
    centre = None if box is None else [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
    return {"robot_id": robot, "crack_id": crack_id, "state": state, "wall_bbox_mm": box, "center_mm": centre,
            "severity_category": category, "severity_label": None if category is None else f"cat{category}",
            "severity_scale": "BRE-Digest-251", "confidence": confidence}


CRACKS = [
    crack("c1", [500, 400, 900, 520], category=4),
    crack("c2", [2500, 1500, 2600, 2100], category=0, state="ended"),
    crack("c3", [4000, 300, 4100, 340], category=None, confidence=0.6),
    crack("c4", None, category=2),
]


def _has_colour(img: np.ndarray, bgr, tol: int = 2) -> int:
    return int(np.all(np.abs(img.astype(int) - np.array(bgr)) <= tol, axis=-1).sum())


def test_map_png_with_wall_size(tmp_path):
    out = draw_crack_map(CRACKS, tmp_path / "map.png", wall_size_mm=(6000, 3000), title="Wall A")
    img = cv2.imread(str(out))
    plot_w = IMAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    assert img.shape[1] == IMAGE_WIDTH
    # The plot keeps the wall's 2:1 aspect; title, axis, legend and one note line add the rest.
    assert plot_w // 2 + 150 < img.shape[0] < plot_w // 2 + 400
    assert _has_colour(img, SEVERITY_COLOURS[4]) > 50          # c1's outline
    assert _has_colour(img, SEVERITY_COLOURS[0]) > 50          # c2's outline
    assert _has_colour(img, severity_colour(None, 0.6)) > 20    # c3, unmeasured, by confidence


def test_map_without_wall_size_spans_the_boxes(tmp_path):
    x0, y0, x1, y1 = wall_extent(CRACKS)
    assert 0 <= x0 < 500 and 0 <= y0 < 300 and 4100 < x1 < 4600 and 2100 < y1 < 2600
    out = draw_crack_map(CRACKS, tmp_path / "map.png")
    assert cv2.imread(str(out)).shape[1] == IMAGE_WIDTH


def test_wall_grows_to_hold_cracks_outside_it():
    assert wall_extent([crack("far", [7000, 100, 7200, 200])], (6000, 3000))[2] > 7200


def test_unplaced_cracks_add_a_note_not_a_box():
    placed_only = render_crack_map(CRACKS[:3], (6000, 3000))
    with_note = render_crack_map(CRACKS, (6000, 3000))
    assert with_note.shape[0] > placed_only.shape[0]
    # c4 is category 2 but has no position: its colour appears only in the legend swatch.
    assert _has_colour(with_note, SEVERITY_COLOURS[2]) == _has_colour(placed_only, SEVERITY_COLOURS[2])


def test_empty_map(tmp_path):
    out = draw_crack_map([], tmp_path / "empty.png")
    assert cv2.imread(str(out)).shape[1] == IMAGE_WIDTH


def test_unwritable_map_path(tmp_path):
    with pytest.raises(MonitorError, match="cannot write"):
        draw_crack_map(CRACKS, tmp_path / "missing" / "map.png")


def test_a_traced_crack_is_drawn_as_itself_beside_the_truth():
    traced = {**crack("t1", [1000, 1000, 3000, 1040], category=3),
              "trace_mm": [[[1000.0, 1020.0, 6.0], [2000.0, 1020.0, 9.0], [3000.0, 1020.0, 4.0]]]}
    truth = [np.array([[1000.0, 1025.0, 8.0], [3000.0, 1025.0, 8.0]]), np.array([[500.0, 2500.0], [900.0, 2600.0]])]
    plain = render_crack_map([crack("t1", [1000, 1000, 3000, 1040], category=3)], wall_size_mm=(6000, 3000))
    img = render_crack_map([traced], wall_size_mm=(6000, 3000), truth_mm=truth)
    # the line in its severity colour, thicker than the box outline it replaces as the mark
    assert _has_colour(img, SEVERITY_COLOURS[3]) > 3 * _has_colour(plain, SEVERITY_COLOURS[3]) // 2
    from monitor.crack_traces import TRUTH_INK

    assert _has_colour(img, TRUTH_INK) > 100  # the true crack no trace covers, faint


@pytest.mark.parametrize("trace", [None, [], "x", [["a", None]], [[[float("nan"), 1.0, 1.0]]], [[[1e300, 0, 1]]],
                                   [[[1.0, 2.0, "w"], [3.0, 4.0]]], [[[1.0, 2.0, 1.0]] * 5000]])
def test_any_stored_trace_draws_or_is_left_out(trace):
    img = render_crack_map([{**crack("h1", [100, 100, 400, 300], category=2), "trace_mm": trace}])
    assert img.shape[1] == IMAGE_WIDTH
