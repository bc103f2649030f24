"""Builds the MQTT payloads exactly as the JSON Schemas in edge/comms/schemas define them."""
from __future__ import annotations

import time
import uuid
from typing import Dict, Optional, Sequence

from edge.comms.schemas import SCHEMA_VERSION
from edge.frame.severity import classify_width
from edge.frame.trace import trace_mask
from edge.wall.tracker import Track, TrackEvent


def crack_event(robot_id: str, ev: TrackEvent, model_name: str, model_sha256: str,
                severity_scale: str = "BRE-Digest-251") -> dict:
    """A crack event; its event_id is made here once and travels with it through every re-send.

    Measurements are the whole crack's (stitched on the wall), not the latest frame's view."""
    track = ev.track
    crack = track.last
    m = track.measure
    wall_box = [round(v, 1) for v in track.box] if crack.bbox_mm is not None else None
    center = (
        [round((wall_box[0] + wall_box[2]) / 2, 1), round((wall_box[1] + wall_box[3]) / 2, 1)] if wall_box else None
    )
    h, w = track.frame_hw
    payload = {
        "schema_version": SCHEMA_VERSION,
        "event_id": uuid.uuid4().hex,
        "type": ev.type,
        "robot_id": robot_id,
        "crack_id": track.crack_id,
        "seq": ev.seq,
        "ts": track.ts,
        "frame": {"index": track.last_frame, "bbox_px": list(crack.bbox_px), "width": w, "height": h},
        "wall": {"bbox_mm": wall_box, "center_mm": center},
        "length_mm": m.length_mm if m else None,
        "width_max_mm": m.width_max_mm if m else None,
        "width_mean_mm": m.width_mean_mm if m else None,
        "width_p95_mm": m.width_p95_mm if m else None,
        "below_resolution": m.below_resolution if m else None,
        "orientation_deg": m.orientation_deg if m else None,
        "severity": classify_width(m.width_max_mm if m else None, severity_scale),
        "confidence": round(float(track.confidence), 4),
        "model": {"name": model_name, "sha256": model_sha256},
        "tiles": crack.tiles,
    }
    if ev.merged_into is not None:
        payload["merged_into"] = ev.merged_into
    trace = crack_trace(track)
    if trace:
        payload["trace"] = trace
    return payload


def crack_trace(track: Track) -> Optional[dict]:
    """The crack's centreline (edge/frame/trace.py) as [x, y, full width] vertices: `wall_mm` from the
    stitched wall mask (frames with a pose), `frame_px` from the latest frame's mask (pixel centres at
    +0.5); None without a segmenter's mask. The wall trace is kept until the mask changes, the frame trace
    until the crack is seen again (a photo's crack has its `new` and its `end` in the same frame)."""
    out = {}
    wall = track.wall
    if wall is not None and wall.canvas is not None:
        key = wall.area() + wall.sure_area()
        if track.trace_cache is None or track.trace_cache[0] != key:
            (ox, oy), r = wall.origin, wall.res
            lines = [[[round((ox + x + 0.5) * r, 1), round((oy + y + 0.5) * r, 1), round(w * r, 3)]
                      for x, y, w in line] for line in trace_mask(wall.fused())]
            track.trace_cache = (key, lines)
        if track.trace_cache[1]:
            out["wall_mm"] = track.trace_cache[1]
    crack = track.last
    if crack.mask is not None:
        if track.frame_trace_cache is None or track.frame_trace_cache[0] is not crack:
            x0, y0 = crack.bbox_px[:2]
            lines = [[[x0 + x + 0.5, y0 + y + 0.5, round(w, 2)] for x, y, w in line]
                     for line in trace_mask(crack.mask)]
            track.frame_trace_cache = (crack, lines)
        if track.frame_trace_cache[1]:
            out["frame_px"] = track.frame_trace_cache[1]
    return out or None


def status_payload(robot_id: str, state: str) -> dict:
    return {"schema_version": SCHEMA_VERSION, "robot_id": robot_id, "state": state, "ts": time.time()}


def final_reports(events: Sequence[dict]) -> Dict[str, dict]:
    """The latest event of every crack_id (by seq): the whole crack as last measured. A crack that
    ended as part of another (merged_into) is that other crack's now, not a report of its own."""
    latest: Dict[str, dict] = {}
    for ev in events:
        cur = latest.get(ev["crack_id"])
        if cur is None or ev["seq"] >= cur["seq"]:
            latest[ev["crack_id"]] = ev
    return {crack_id: ev for crack_id, ev in latest.items() if not ev.get("merged_into")}
