"""The evidence picture sent over MQTT: a crack's box cut from its frame, the crack's traced centreline drawn
over it, a scale bar in mm, as a JPEG made to fit a byte cap: lower quality first, then smaller, and None
when even the smallest try is over it (the caller counts it)."""
from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence

import cv2
import numpy as np

QUALITIES = (80, 60, 40)
SCALES = (1.0, 0.7, 0.5, 0.35, 0.25)
MAX_SIDE_PX = 1024  # a longer crop is shrunk first: more pixels only cost bytes over a robot's link
MIN_SIDE_PX = 48  # smaller than this a crop shows nothing: give up instead
TRACE_RGB, BAR_RGB, BAR_EDGE_RGB = (255, 0, 200), (255, 255, 255), (0, 0, 0)
TRACE_ALPHA = 0.65  # the crack shows through its trace
BAR_LENGTHS_MM = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def _crop_box(bbox_px, margin: int, hw) -> tuple:
    x0, y0, x1, y1 = (int(round(v)) for v in bbox_px)
    h, w = hw
    return max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin)


def _draw_trace(img: np.ndarray, polylines_px, origin, scale: float) -> None:
    """Polylines in frame px (pixel centres at +0.5) drawn on `img`, a crop from `origin` resized by `scale`."""
    if not polylines_px:
        return
    over = img.copy()
    for line in polylines_px:
        pts = [((x - origin[0]) * scale, (y - origin[1]) * scale) for x, y, *_ in line]
        pts = np.round(np.array(pts, np.float64) * 4).astype(np.int32).reshape(-1, 1, 2)  # 2 fractional bits
        cv2.polylines(over, [pts], False, TRACE_RGB, 1 if min(img.shape[:2]) < 200 else 2, cv2.LINE_AA, shift=2)
    cv2.addWeighted(over, TRACE_ALPHA, img, 1 - TRACE_ALPHA, 0, dst=img)


def _draw_scale_bar(img: np.ndarray, mm_per_px: float) -> None:
    """A bar of a round length in mm, at most a third of the width, bottom left, with its length written."""
    h, w = img.shape[:2]
    fitting = [mm for mm in BAR_LENGTHS_MM if mm / mm_per_px <= w / 3]
    if not fitting or fitting[-1] / mm_per_px < 8:
        return
    mm = fitting[-1]
    length = int(round(mm / mm_per_px))
    x0, y1 = 6, h - 6
    cv2.rectangle(img, (x0 - 1, y1 - 5), (x0 + length + 1, y1 + 1), BAR_EDGE_RGB, -1)
    cv2.rectangle(img, (x0, y1 - 4), (x0 + length, y1), BAR_RGB, -1)
    label = f"{mm:g} mm"
    org = (x0, y1 - 9)
    cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, BAR_EDGE_RGB, 3, cv2.LINE_AA)
    cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, BAR_RGB, 1, cv2.LINE_AA)


class EvidenceCut(NamedTuple):
    """A crack's box with its margin cut from its frame (or the frame's hi-res view), with what is drawn on it
    in the crop's own pixels: what a JPEG of it is made from."""

    crop: np.ndarray
    mm_per_px: Optional[float]  # of the crop's pixels; None: no scale bar
    polylines: List  # the trace, (x, y) per vertex in crop pixels


def evidence_cut(rgb: np.ndarray, bbox_px: Sequence[float], mm_per_px: Optional[float] = None,
                 polylines_px: Optional[List] = None, margin_px: int = 32,
                 hires: Optional[np.ndarray] = None) -> EvidenceCut:
    """The crack's box (plus margin) of an RGB frame, cut from `hires` (the same view at a higher resolution)
    when there is one, as a copy: what waits to be encoded holds a crop, not a frame. polylines_px: the frame
    trace (edge/comms/events.py); mm_per_px: the frame's scale (no bar without it)."""
    f = 1.0
    if hires is not None:
        f = hires.shape[1] / rgb.shape[1]
        rgb = hires
    x0, y0, x1, y1 = _crop_box([v * f for v in bbox_px], int(margin_px * f), rgb.shape[:2])
    lines = [[(x * f - x0, y * f - y0) for x, y, *_ in line] for line in polylines_px or []]
    return EvidenceCut(rgb[y0:y1, x0:x1].copy(), mm_per_px / f if mm_per_px else None, lines)


def encode_cut(cut: EvidenceCut, max_bytes: int) -> Optional[bytes]:
    """The cut as a JPEG of at most `max_bytes`, its trace and scale bar drawn on it: lower quality first,
    then smaller; None when even the smallest try is over, or the cut is empty."""
    crop = cut.crop
    if crop.size == 0:
        return None
    first = min(1.0, MAX_SIDE_PX / max(crop.shape[:2]))
    for step in SCALES:
        s = first * step
        h, w = int(round(crop.shape[0] * s)), int(round(crop.shape[1] * s))
        if min(h, w) < MIN_SIDE_PX and step != SCALES[0]:
            break
        img = cv2.resize(crop, (max(w, 1), max(h, 1)), interpolation=cv2.INTER_AREA) if s != 1.0 else crop.copy()
        _draw_trace(img, cut.polylines, (0, 0), s)
        if cut.mm_per_px:
            _draw_scale_bar(img, cut.mm_per_px / s)
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        for quality in QUALITIES:
            ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and len(data) <= max_bytes:
                return data.tobytes()
    return None
