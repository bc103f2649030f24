"""A photo with its cracks drawn: each crack's pixels tinted in its severity colour (one colour without
a scale), its box, its number and its figures; and a crop of that drawing around one crack for the report."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from edge.inspect.recorder import unpack
from edge.report.colours import severity_rgb

Box = Tuple[int, int, int, int]
NO_SCALE_RGB = (255, 0, 200)  # magenta: stands out on concrete and brick alike
TINT = 0.6  # share of the crack colour in a crack pixel
CROP_SIDE = 360  # longest side of a report crop, px


def _inside(inner: Box, outer: Box) -> bool:
    return inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def crack_colour(report: dict, scaled: bool) -> tuple:
    return severity_rgb((report.get("severity") or {}).get("category")) if scaled else NO_SCALE_RGB


def _fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def label(number: int, report: dict, units: str) -> str:
    return (f"{number}: L {_fmt(report.get('length_mm'), 0)} {units}, "
            f"w {_fmt(report.get('width_max_mm'), 1)}/{_fmt(report.get('width_mean_mm'), 1)} {units}")


def _text(img: np.ndarray, text: str, at: Tuple[int, int], colour, scale: float) -> None:
    thick = max(1, int(round(scale * 2)))
    cv2.putText(img, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


def draw(rgb: np.ndarray, reports: Sequence[dict], masks: Sequence[Tuple[Box, bytes]], units: str,
         scaled: bool) -> np.ndarray:
    """The photo (RGB) with reports[i] drawn as crack number i + 1: its recorded pixels (those whose box
    lies inside the report's box), its box and a label with its length and max / mean width."""
    out = rgb.copy()
    h, w = out.shape[:2]
    scale = max(0.7, min(w, h) / 900.0)  # small photos still get a legible label
    for report in reports:
        colour = np.array(crack_colour(report, scaled), np.float32)
        box = tuple(int(v) for v in report["frame"]["bbox_px"])
        for (x0, y0, x1, y1), png in masks:
            if _inside((x0, y0, x1, y1), box):
                mask = unpack(png)[: h - y0, : w - x0]
                region = out[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]]
                region[mask] = (region[mask] * (1 - TINT) + colour * TINT).astype(np.uint8)
    for number, report in enumerate(reports, 1):
        colour = tuple(int(c) for c in crack_colour(report, scaled))
        x0, y0, x1, y1 = (int(v) for v in report["frame"]["bbox_px"])
        cv2.rectangle(out, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), colour, max(1, int(scale * 2)))
        ty = y0 - 6 if y0 > 24 * scale else min(h - 4, y1 + int(20 * scale))
        _text(out, label(number, report, units), (max(2, x0), ty), colour, 0.55 * scale)
    return out


def crop(drawing: np.ndarray, box: Box, side: int = CROP_SIDE) -> np.ndarray:
    """The drawing around a crack's box (a margin of a fifth of the box, at least 24 px), its longest
    side at most `side` px."""
    h, w = drawing.shape[:2]
    x0, y0, x1, y1 = box
    mx, my = max(24, (x1 - x0) // 5), max(24, (y1 - y0) // 5)
    part = drawing[max(0, y0 - my) : min(h, y1 + my), max(0, x0 - mx) : min(w, x1 + mx)]
    factor = side / max(part.shape[:2])
    if factor < 1:
        part = cv2.resize(part, (max(1, int(part.shape[1] * factor)), max(1, int(part.shape[0] * factor))),
                          interpolation=cv2.INTER_AREA)
    return part


def jpeg(rgb: np.ndarray, quality: int = 88) -> Optional[bytes]:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes() if ok else None


def numbered(reports: Sequence[dict]) -> List[dict]:
    """A photo's reports in the order they are numbered: worst first, then left to right."""
    return sorted(reports, key=lambda r: (-((r.get("severity") or {}).get("category") or -1),
                                          -(r.get("width_max_mm") or 0.0), r["frame"]["bbox_px"][0]))
