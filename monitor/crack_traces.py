"""Cracks drawn as themselves on the crack map: each crack's traced centreline (wall mm, from its events'
`trace`), thicker where it is wider, in its severity colour, with its widest point labelled; and, on a
simulated wall, the true cracks faintly beneath. The map's frame, grid and boxes are monitor/crackmap.py's.

Line thickness grows with the width but is not to scale (a 0.3 mm crack on a 3 m wall is a tenth of a
map pixel): the labels give the widths in mm."""
from __future__ import annotations

import math
from typing import Any, Sequence

from monitor.values import MAX_MM, finite

TRUTH_INK = (205, 205, 205)
MAX_THICKNESS_PX = 12
MAX_VERTICES = 1024  # per crack: the schema's bound (16 polylines of 64); a stored trace beyond it is cut


def thickness_px(width_mm: float | None) -> int:
    """Map line thickness of a crack width: 2 px for a hairline, growing with the square root of the width."""
    w = finite(width_mm, 1e6)
    if w is None or w <= 0:
        return 2
    return int(min(MAX_THICKNESS_PX, max(2, round(2 + 2 * math.sqrt(w)))))


def _points(line: Any) -> list[tuple[float, float, float | None]]:
    """(x, y, width) of a stored polyline's vertices, the unplaceable ones (non-finite, out of range) left out."""
    out = []
    for vertex in line if isinstance(line, list) else []:
        if not isinstance(vertex, list) or len(vertex) < 2:
            continue
        x, y = finite(vertex[0], MAX_MM), finite(vertex[1], MAX_MM)
        if x is not None and y is not None:
            out.append((x, y, finite(vertex[2], MAX_MM) if len(vertex) > 2 else None))
    return out


def polylines(crack: dict) -> list[list[tuple[float, float, float | None]]]:
    """The crack's traced polylines in wall mm ([] when its events carried none)."""
    lines, budget = [], MAX_VERTICES
    trace = crack.get("trace_mm")
    for line in trace if isinstance(trace, list) else []:
        pts = _points(line)[:budget]
        budget -= len(pts)
        if pts:
            lines.append(pts)
    return lines


def draw_truth(canvas, truth_mm: Sequence[Sequence[Sequence[float]]]) -> None:
    """The true cracks (polylines of (x, y[, full width]) in wall mm), faint and a little wider than a trace
    of their widest width, under everything else: a halo where the robot traced a crack, a grey line where
    it did not."""
    import cv2
    import numpy as np

    for line in truth_mm:
        widths = [float(v[2]) for v in line if len(v) > 2]
        pts = [canvas.px(float(v[0]), float(v[1])) for v in line]
        if len(pts) >= 2:
            cv2.polylines(canvas.img, [np.array(pts, np.int32).reshape(-1, 1, 2)], False, TRUTH_INK,
                          thickness_px(max(widths) if widths else None) + 4, cv2.LINE_AA)


def draw_trace(canvas, crack: dict, colour) -> list[tuple[int, int, str]]:
    """Draw one crack's polylines; returns (x, y, text) width labels to place: the widest vertex of each."""
    import cv2

    labels = []
    for line in polylines(crack):
        pts = [canvas.px(x, y) for x, y, _ in line]
        if len(pts) == 1:
            cv2.circle(canvas.img, pts[0], 2, colour, -1, cv2.LINE_AA)
        for (a, b), (va, vb) in zip(zip(pts, pts[1:]), zip(line, line[1:])):
            widths = [w for w in (va[2], vb[2]) if w is not None]
            cv2.line(canvas.img, a, b, colour, thickness_px(sum(widths) / len(widths) if widths else None),
                     cv2.LINE_AA)
        widest = max(range(len(line)), key=lambda i: line[i][2] or 0.0)
        if line[widest][2]:
            labels.append((*pts[widest], f"{line[widest][2]:.2g} mm"))
    return labels
