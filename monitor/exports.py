"""Exports of the crack registry: CSV (one row per crack) and GeoJSON (wall coordinates in mm).

The GeoJSON is in a local engineering frame, not WGS84: x mm to the right of the wall origin,
y mm down from it (as on the crack map). Each crack is a Polygon of its wall box with the centre
and measurements as properties; a crack without a wall position has a null geometry. The frame is
named in the collection's "crs" member so GIS tools do not take the numbers for degrees.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Sequence

from monitor import MonitorError
from monitor.values import MAX_MM, clean, finite, format_time

CSV_COLUMNS = [
    "robot_id", "crack_id", "wall_id", "state", "severity_scale", "severity_category", "severity_label",
    "width_max_mm", "width_mean_mm", "width_p95_mm", "length_mm", "orientation_deg", "confidence",
    "center_x_mm", "center_y_mm", "wall_x0_mm", "wall_y0_mm", "wall_x1_mm", "wall_y1_mm",
    "first_seen_utc", "last_seen_utc", "n_events", "model_name", "model_sha256", "evidence",
]
WALL_FRAME = "crackbot:wall-mm"  # x right, y down, millimetres from the wall origin (top left)


# A spreadsheet runs a cell starting with these as a formula (=HYPERLINK(...), +cmd|...): CSV injection.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _utc(ts: float | None) -> str:
    return format_time(ts, "%Y-%m-%dT%H:%M:%SZ")


def _cell(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would take for a formula gets a leading quote; a number
    that is not finite is left empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = "'" + value if value.startswith(_FORMULA_START) else value
        return value.replace("\r", " ")  # csv quotes a \n but not a lone \r, which would split the row
    if isinstance(value, float):
        return "" if finite(value) is None else value
    return value


def crack_row(crack: dict[str, Any]) -> dict[str, Any]:
    """One CSV row of a crack as Registry.cracks() returns it (empty cells for unknowns)."""
    box = crack.get("wall_bbox_mm") or [None] * 4
    centre = crack.get("center_mm") or [None, None]
    row = {name: crack.get(name) for name in CSV_COLUMNS}
    row.update(center_x_mm=centre[0], center_y_mm=centre[1], wall_x0_mm=box[0], wall_y0_mm=box[1],
               wall_x1_mm=box[2], wall_y1_mm=box[3], first_seen_utc=_utc(crack.get("first_ts")),
               last_seen_utc=_utc(crack.get("last_ts")))
    return {k: _cell(v) for k, v in row.items()}


def cracks_csv(cracks: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for crack in cracks:
        writer.writerow(crack_row(crack))
    return out.getvalue()


def crack_feature(crack: dict[str, Any]) -> dict[str, Any]:
    box = [finite(v, MAX_MM) for v in crack.get("wall_bbox_mm") or []]
    geometry = None
    if len(box) == 4 and all(v is not None for v in box):
        x0, y0, x1, y1 = box
        geometry = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    props = {k: v for k, v in crack.items() if k not in ("wall_bbox_mm", "frame_bbox_px", "frame_size_px")}
    props["first_seen_utc"], props["last_seen_utc"] = _utc(crack.get("first_ts")), _utc(crack.get("last_ts"))
    return {"type": "Feature", "id": f"{crack['robot_id']}/{crack['crack_id']}", "geometry": geometry,
            "properties": clean(props)}


def cracks_geojson(cracks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": WALL_FRAME}},
        "units": "mm",
        "features": [crack_feature(c) for c in cracks],
    }


def _write_text(path: Path, text: str, what: str) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # a reader never sees half a file
    except OSError as exc:
        raise MonitorError(f"cannot write the {what} {path}: {exc.strerror or exc}") from exc
    return path


def write_csv(cracks: Sequence[dict[str, Any]], path) -> Path:
    return _write_text(path, cracks_csv(cracks), "CSV export")


def write_geojson(cracks: Sequence[dict[str, Any]], path) -> Path:
    return _write_text(path, json.dumps(cracks_geojson(cracks), indent=1, allow_nan=False) + "\n", "GeoJSON export")
