"""The crack map: a PNG of the wall in millimetres with every placed crack as a box, and as itself where its
events carried a trace (monitor/crack_traces.py: the centreline, thicker where wider, widest point labelled).

Boxes and traces are coloured by severity category; a crack not yet measured (category None) is grey, darker
the more confident the detector was. Cracks without a wall position (no pose) cannot be placed and
are listed in a note under the map instead. Drawn with OpenCV only (the device venv has no matplotlib).
"""
from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

from monitor import MonitorError
from monitor.crack_traces import draw_trace, draw_truth, polylines
from edge.frame.severity import label_name, width_bands
from monitor.palette import SCALE_LABELS, SEVERITY_COLOURS, severity_colour
from monitor.values import MAX_MM, finite

IMAGE_WIDTH = 1600
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP = 90, 40, 104
MAX_PLOT_HEIGHT = 1800
AXIS_BAND, LEGEND_BAND, NOTE_LINE = 44, 92, 24
MAX_NOTE_LINES = 4
MAX_GRID_LINES = 200  # per axis and step: a bound on the grid loop whatever the extent

BACKGROUND, PLOT_BG, OFF_WALL = (246, 246, 243), (255, 255, 255), (236, 236, 232)
GRID_MAJOR, GRID_MINOR, INK, FAINT_INK = (200, 200, 196), (232, 232, 228), (40, 40, 40), (110, 110, 110)


def require_opencv() -> None:
    """MonitorError now, before any listening or reading, when OpenCV (which draws the maps) cannot load."""
    try:
        import cv2  # noqa: F401
    except ImportError as exc:
        raise MonitorError(f"the crack maps need OpenCV, which cannot be imported ({exc}): "
                           "pip install 'crackbot[monitor]' (or apt install python3-opencv)") from None


def _ascii(text: Any) -> str:
    # Hershey fonts draw ASCII only; anything else would come out as '?' boxes anyway.
    return str(text).encode("ascii", "replace").decode("ascii")


def _placed_box(crack: dict) -> list[float] | None:
    box = crack.get("wall_bbox_mm")
    if not box or len(box) != 4:
        return None
    # A stored corner beyond the schema's bound (an older registry) cannot be drawn: list it as unplaced.
    box = [finite(v, MAX_MM) for v in box]
    if any(v is None for v in box):
        return None
    x0, y0, x1, y1 = box
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


def wall_extent(
    cracks: Sequence[dict], wall_size_mm: Sequence[float] | None = None
) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in mm that the map shows: the wall when its size is known, grown to hold every box."""
    boxes = [b for b in (_placed_box(c) for c in cracks) if b]
    if boxes:
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        margin = max(250.0, 0.08 * max(x1 - x0, y1 - y0))
        x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
        # The wall origin is 0, 0: do not show negative space the boxes do not need.
        if min(b[0] for b in boxes) >= 0:
            x0 = max(x0, 0.0)
        if min(b[1] for b in boxes) >= 0:
            y0 = max(y0, 0.0)
    else:
        x0 = y0 = x1 = y1 = None
    if wall_size_mm is not None:
        w, h = (float(v) for v in wall_size_mm)
        if not (0 < w <= MAX_MM and 0 < h <= MAX_MM):
            raise MonitorError(f"wall size must be positive and at most {MAX_MM:g} mm, got {w:g} x {h:g} mm")
        if x0 is None:
            return 0.0, 0.0, w, h
        return min(x0, 0.0), min(y0, 0.0), max(x1, w), max(y1, h)
    if x0 is None:
        return 0.0, 0.0, 1000.0, 1000.0
    return x0, y0, x1, y1


def _grid_step(span_mm: float) -> float:
    """Major grid step: a metre, coarser on long walls so there are at most ~25 lines."""
    for step in (1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0):
        if span_mm / step <= 25:
            return step
    return 10.0 ** math.ceil(math.log10(span_mm / 25))


def _metres(mm: float) -> str:
    m = round(mm / 1000.0, 3)
    return f"{m:g} m"


class _Canvas:
    """Image plus the mm -> pixel mapping of the plot area."""

    def __init__(self, extent: tuple[float, float, float, float], n_note_lines: int):
        import numpy as np

        self.x0, self.y0, self.x1, self.y1 = extent
        span_w, span_h = max(self.x1 - self.x0, 1.0), max(self.y1 - self.y0, 1.0)
        plot_w = IMAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        self.scale = plot_w / span_w
        if span_h * self.scale > MAX_PLOT_HEIGHT:  # a tall wall: fit the height instead
            self.scale = MAX_PLOT_HEIGHT / span_h
        self.plot_w, self.plot_h = int(round(span_w * self.scale)), int(round(span_h * self.scale))
        self.left, self.top = MARGIN_LEFT, MARGIN_TOP
        self.bottom = self.top + self.plot_h
        self.legend_top = self.bottom + AXIS_BAND
        height = self.legend_top + LEGEND_BAND + (n_note_lines * NOTE_LINE + 16 if n_note_lines else 0)
        self.img = np.full((height, IMAGE_WIDTH, 3), BACKGROUND, np.uint8)

    def px(self, x_mm: float, y_mm: float) -> tuple[int, int]:
        return (int(round(self.left + (x_mm - self.x0) * self.scale)),
                int(round(self.top + (y_mm - self.y0) * self.scale)))


def _text(img, text: str, org: tuple[int, int], scale: float = 0.5, colour=INK, thickness: int = 1,
          halo: bool = False) -> None:
    import cv2

    text = _ascii(text)
    if halo:  # a white outline keeps labels readable over grid lines and boxes
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness + 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


def _text_size(text: str, scale: float = 0.5, thickness: int = 1) -> tuple[int, int]:
    import cv2

    (w, h), _ = cv2.getTextSize(_ascii(text), cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    return w, h


def _draw_grid(cv: _Canvas, wall_size_mm) -> None:
    import cv2

    img = cv.img
    cv2.rectangle(img, (cv.left, cv.top), (cv.left + cv.plot_w, cv.bottom), OFF_WALL if wall_size_mm else PLOT_BG, -1)
    if wall_size_mm:
        cv2.rectangle(img, cv.px(0, 0), cv.px(*wall_size_mm), PLOT_BG, -1)
    major = _grid_step(max(cv.x1 - cv.x0, cv.y1 - cv.y0))
    minor = major / 4
    show_minor = minor * cv.scale >= 18
    few_major = (cv.x1 - cv.x0) < 2 * major or (cv.y1 - cv.y0) < 2 * major

    def ticks(lo: float, hi: float, step: float) -> Iterable[float]:
        # Counted, not accumulated: v += step never moves a huge v (1e300 + 1000 == 1e300).
        first = math.ceil(lo / step - 1e-9)
        count = int(math.floor(hi / step + 1e-9)) - first + 1
        for i in range(max(0, min(count, MAX_GRID_LINES))):
            yield (first + i) * step

    for step, colour in ((minor, GRID_MINOR), (major, GRID_MAJOR)) if show_minor else ((major, GRID_MAJOR),):
        labelled = step == major or few_major
        for x in ticks(cv.x0, cv.x1, step):
            px = cv.px(x, 0)[0]
            cv2.line(img, (px, cv.top), (px, cv.bottom), colour, 1)
            if labelled:
                label = _metres(x)
                w, _ = _text_size(label, 0.45)
                _text(img, label, (px - w // 2, cv.bottom + 20), 0.45, FAINT_INK)
        for y in ticks(cv.y0, cv.y1, step):
            py = cv.px(0, y)[1]
            cv2.line(img, (cv.left, py), (cv.left + cv.plot_w, py), colour, 1)
            if labelled:
                label = _metres(y)
                w, h = _text_size(label, 0.45)
                _text(img, label, (cv.left - w - 8, py + h // 2), 0.45, FAINT_INK)
    if wall_size_mm:
        cv2.rectangle(img, cv.px(0, 0), cv.px(*wall_size_mm), (90, 90, 90), 2)
    cv2.rectangle(img, (cv.left, cv.top), (cv.left + cv.plot_w, cv.bottom), (150, 150, 150), 1)
    note = "distances from the wall origin (top left): x to the right, y down"
    _text(img, note, (cv.left + cv.plot_w - _text_size(note, 0.4)[0], cv.bottom + 38), 0.4, FAINT_INK)


def _overlaps(a: tuple[int, int, int, int], rects: list[tuple[int, int, int, int]]) -> bool:
    return any(a[0] < r[2] and r[0] < a[2] and a[1] < r[3] and r[1] < a[3] for r in rects)


def _draw_cracks(cv: _Canvas, placed: list[tuple[dict, list[float]]]) -> None:
    import cv2

    img = cv.img
    overlay = img.copy()
    rects = []
    for crack, box in placed:
        (x0, y0), (x1, y1) = cv.px(box[0], box[1]), cv.px(box[2], box[3])
        # A hairline crack far away is still a crack: never draw it smaller than 7 px.
        if x1 - x0 < 7:
            cx = (x0 + x1) // 2
            x0, x1 = cx - 3, cx + 4
        if y1 - y0 < 7:
            cy = (y0 + y1) // 2
            y0, y1 = cy - 3, cy + 4
        rects.append((x0, y0, x1, y1))
        if polylines(crack):
            continue  # a traced crack is drawn as itself: its box stays an outline
        cv2.rectangle(overlay, (x0, y0), (x1, y1), severity_colour(crack.get("severity_category"),
                                                                  crack.get("confidence")), -1)
    cv2.addWeighted(overlay, 0.28, img, 0.72, 0, dst=img)
    labels: list[tuple[int, int, int, int]] = []
    for (crack, box), (x0, y0, x1, y1) in zip(placed, rects):
        colour = severity_colour(crack.get("severity_category"), crack.get("confidence"))
        ended, traced = crack.get("state") == "ended", bool(polylines(crack))
        box_colour = tuple((c + 2 * 255) // 3 for c in colour) if traced else colour  # the trace stands out
        cv2.rectangle(img, (x0, y0), (x1, y1), box_colour, 2 if ended else 1, cv2.LINE_AA)
        for wx, wy, text in draw_trace(cv, crack, colour):  # the widest point of each line, where there is room
            w, h = _text_size(text, 0.4)
            r = (wx + 4, wy - h - 4, wx + w + 8, wy)
            if not _overlaps(r, labels):
                labels.append(r)
                _text(img, text, (wx + 6, wy - 3), 0.4, INK, 1, halo=True)
        centre = [finite(v, MAX_MM) for v in crack.get("center_mm") or []]
        if len(centre) != 2 or None in centre:
            centre = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
        if not traced:
            cv2.drawMarker(img, cv.px(*centre), colour, cv2.MARKER_CROSS, 12, 2, cv2.LINE_AA)
        text = str(crack.get("crack_id", "?"))
        if finite(crack.get("width_max_mm")) is not None:  # the width that set the colour, to read off the map
            text += f" {float(crack['width_max_mm']):.2g} mm"
        w, h = _text_size(text, 0.45)
        candidates = [(x1 + 5, y0 + h), (x1 + 5, y1), (x0, y0 - 6), (x0, y1 + h + 5), (x0 - w - 5, y0 + h)]
        right, bottom = cv.left + cv.plot_w, cv.bottom
        best = None
        for tx, ty in candidates:
            r = (tx - 2, ty - h - 2, tx + w + 2, ty + 4)
            if r[0] < cv.left or r[2] > right or r[1] < cv.top or r[3] > bottom:
                continue
            if not _overlaps(r, labels) and not _overlaps(r, rects):
                best = (tx, ty, r)
                break
            best = best or (tx, ty, r)
        tx, ty, r = best or (x0, max(y0 - 6, cv.top + h), (x0, y0, x0, y0))
        labels.append(r)
        _text(img, text, (tx, ty), 0.45, INK, 1, halo=True)


def _draw_legend(cv: _Canvas, cracks: Sequence[dict], truth: bool = False) -> None:
    import cv2

    img, y = cv.img, cv.legend_top + 8
    scales = Counter(c.get("severity_scale") for c in cracks if c.get("severity_scale"))
    scale_name = scales.most_common(1)[0][0] if scales else "severity"
    labels: dict[int, str] = dict(SCALE_LABELS.get(scale_name, {}))
    for c in cracks:
        cat = finite(c.get("severity_category"), 100)
        if cat is not None and c.get("severity_label"):
            labels[int(cat)] = label_name(str(c["severity_label"]))
    bands = width_bands(scale_name)
    labels = {cat: f"{text} {bands[cat]}" if cat in bands else text for cat, text in labels.items()}
    categories = sorted(set(SEVERITY_COLOURS) | set(labels))
    _text(img, f"Severity by crack width ({scale_name})", (cv.left, y + 12), 0.5, INK, 1)
    x = cv.left
    y += 26
    for cat in categories:
        label = f"{cat} {labels.get(cat, '')}".strip()
        colour = severity_colour(cat)
        cv2.rectangle(img, (x, y), (x + 22, y + 16), colour, -1)
        cv2.rectangle(img, (x, y), (x + 22, y + 16), (80, 80, 80), 1)
        _text(img, label, (x + 28, y + 13), 0.45, INK)
        x += 28 + _text_size(label, 0.45)[0] + 22
    # Unmeasured: a grey ramp by detector confidence.
    x += 10
    _text(img, "unmeasured, by confidence:", (x, y + 13), 0.45, INK)
    x += _text_size("unmeasured, by confidence:", 0.45)[0] + 8
    _text(img, "0", (x, y + 13), 0.4, FAINT_INK)
    x += 12
    for i in range(60):
        cv2.line(img, (x + i, y), (x + i, y + 16), severity_colour(None, i / 59), 1)
    cv2.rectangle(img, (x, y), (x + 60, y + 16), (80, 80, 80), 1)
    _text(img, "1", (x + 66, y + 13), 0.4, FAINT_INK)
    y += 40
    cv2.drawMarker(img, (cv.left + 8, y - 4), INK, cv2.MARKER_CROSS, 12, 2, cv2.LINE_AA)
    _text(img, "centre (untraced crack)   line: traced centreline, thicker = wider (not to scale)   "
          "thin box: open   thick box: ended" + ("   grey: true cracks" if truth else ""), (cv.left + 24, y),
          0.45, FAINT_INK)


def _note_lines(unplaced: list[dict]) -> list[str]:
    if not unplaced:
        return []
    ids = [str(c.get("crack_id", "?")) for c in unplaced]
    lines, line = [], f"Not on the map, no wall position ({len(ids)}): "
    max_w = IMAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    for i, crack_id in enumerate(ids):
        piece = crack_id + (", " if i < len(ids) - 1 else "")
        if _text_size(line + piece, 0.45)[0] > max_w:
            lines.append(line.rstrip())
            line = "    "
            if len(lines) == MAX_NOTE_LINES - 1:
                line += f"... and {len(ids) - i} more"
                break
        line += piece
    lines.append(line.rstrip(", "))
    return lines


def render_crack_map(cracks: Sequence[dict], wall_size_mm: Sequence[float] | None = None,
                     title: str | None = None, truth_mm: Sequence | None = None):
    """The crack map as a BGR numpy image, IMAGE_WIDTH pixels wide; truth_mm: polylines of (x, y) wall mm
    drawn faintly (a simulated wall's true cracks)."""
    placed = [(c, b) for c, b in ((c, _placed_box(c)) for c in cracks) if b]
    unplaced = [c for c in cracks if _placed_box(c) is None]
    notes = _note_lines(unplaced)
    cv = _Canvas(wall_extent(cracks, wall_size_mm), len(notes))
    _draw_grid(cv, tuple(float(v) for v in wall_size_mm) if wall_size_mm else None)
    draw_truth(cv, truth_mm or [])
    # Larger boxes first so small ones stay visible on top.
    placed.sort(key=lambda cb: -(cb[1][2] - cb[1][0]) * (cb[1][3] - cb[1][1]))
    _draw_cracks(cv, placed)

    robots = sorted({str(c.get("robot_id")) for c in cracks if c.get("robot_id")})
    who = ("robot " + robots[0]) if len(robots) == 1 else (
        f"robots {', '.join(robots)}" if 1 < len(robots) <= 3 else f"{len(robots)} robots" if robots else "no robot")
    ended = sum(1 for c in cracks if c.get("state") == "ended")
    measured = sum(1 for c in cracks if c.get("severity_category") is not None)
    _text(cv.img, title or "crackbot crack map", (cv.left, 44), 1.0, INK, 2)
    subtitle = (f"{who}  |  {len(cracks)} crack{'s' if len(cracks) != 1 else ''}: {len(placed)} on the map, "
                f"{len(unplaced)} without position  |  {measured} measured  |  {ended} ended")
    _text(cv.img, subtitle, (cv.left, 76), 0.55, FAINT_INK)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    _text(cv.img, stamp, (IMAGE_WIDTH - MARGIN_RIGHT - _text_size(stamp, 0.45)[0], 44), 0.45, FAINT_INK)
    if wall_size_mm:
        size = f"wall {_metres(wall_size_mm[0])} x {_metres(wall_size_mm[1])}"
        _text(cv.img, size, (IMAGE_WIDTH - MARGIN_RIGHT - _text_size(size, 0.45)[0], 76), 0.45, FAINT_INK)
    _draw_legend(cv, cracks, bool(truth_mm))
    y = cv.legend_top + LEGEND_BAND + 8
    for line in notes:
        _text(cv.img, line, (cv.left, y + 14), 0.45, INK)
        y += NOTE_LINE
    return cv.img


def draw_crack_map(cracks: Sequence[dict], out_png: str | Path, wall_size_mm: Sequence[float] | None = None,
                   title: str | None = None, truth_mm: Sequence | None = None) -> Path:
    """Render the crack map and write it as PNG; returns the path. MonitorError if it cannot be written.

    cracks: dicts as Registry.cracks() returns them (crack_id, robot_id, state, wall_bbox_mm, center_mm,
    severity_category, severity_label, severity_scale, confidence; missing keys are tolerated).
    wall_size_mm: (width, height) of the wall; without it the map spans the boxes plus a margin.
    """
    import cv2

    out = Path(out_png)
    img = render_crack_map(list(cracks), wall_size_mm, title, truth_mm)
    ok, data = cv2.imencode(".png", img)
    if not ok:
        raise MonitorError(f"could not encode the crack map as PNG for {out}")
    try:
        out.write_bytes(data.tobytes())
    except OSError as exc:
        raise MonitorError(f"cannot write the crack map {out}: {exc.strerror or exc}") from exc
    return out


UNNAMED_WALL = "wall"  # the map name of cracks whose events name no wall


def cracks_by_wall(cracks: Sequence[dict]) -> dict[str, list[dict]]:
    """Cracks grouped by wall_id (UNNAMED_WALL where events name none), walls in name order."""
    groups: dict[str, list[dict]] = {}
    for crack in cracks:
        groups.setdefault(crack.get("wall_id") or UNNAMED_WALL, []).append(crack)
    return dict(sorted(groups.items()))


def draw_wall_maps(cracks: Sequence[dict], out_dir: str | Path, wall_size_mm: Sequence[float] | None = None,
                   title: str | None = None) -> dict[str, Path]:
    """One crack map per wall, out_dir/crack_map_<wall>.png; returns {wall: path}. No cracks: one empty map."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MonitorError(f"cannot create the map folder {out}: {exc.strerror or exc}") from exc
    groups = cracks_by_wall(cracks) or {UNNAMED_WALL: []}
    return {
        wall: draw_crack_map(
            group,
            out / f"crack_map_{wall}.png",
            wall_size_mm=wall_size_mm,
            title=f"{title or 'crackbot crack map'}: {wall}" if len(groups) > 1 or wall != UNNAMED_WALL else title,
        )
        for wall, group in groups.items()
    }
