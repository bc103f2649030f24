"""Builds the MQTT payloads exactly as the JSON Schemas in edge/comms/schemas define them."""
from __future__ import annotations

import time
import uuid

from edge.comms.schemas import SCHEMA_VERSION
from edge.frame.severity import classify_width
from edge.wall.tracker import TrackEvent


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
    return payload


def status_payload(robot_id: str, state: str) -> dict:
    return {"schema_version": SCHEMA_VERSION, "robot_id": robot_id, "state": state, "ts": time.time()}
