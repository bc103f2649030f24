"""Builds the MQTT payloads exactly as the JSON Schemas in edge/schemas define them."""
from __future__ import annotations

import time
import uuid

from .schemas import SCHEMA_VERSION
from .severity import classify_width
from .tracker import TrackEvent


def crack_event(robot_id: str, ev: TrackEvent, model_name: str, model_sha256: str) -> dict:
    """A crack event; its event_id is made here once and travels with it through every re-send."""
    track = ev.track
    crack = track.last
    wall_box = [round(v, 1) for v in track.box] if crack.bbox_mm is not None else None
    center = [round((wall_box[0] + wall_box[2]) / 2, 1), round((wall_box[1] + wall_box[3]) / 2, 1)] if wall_box else None
    h, w = track.frame_hw
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": uuid.uuid4().hex,
        "type": ev.type,
        "robot_id": robot_id,
        "crack_id": track.crack_id,
        "seq": ev.seq,
        "ts": track.ts,
        "frame": {"index": track.last_frame, "bbox_px": list(crack.bbox_px), "width": w, "height": h},
        "wall": {"bbox_mm": wall_box, "center_mm": center},
        "length_mm": crack.length_mm,
        "width_max_mm": crack.width_max_mm,
        "width_mean_mm": crack.width_mean_mm,
        "orientation_deg": crack.orientation_deg,
        "severity": classify_width(crack.width_max_mm),
        "confidence": round(float(track.confidence), 4),
        "model": {"name": model_name, "sha256": model_sha256},
        "tiles": crack.tiles,
    }


def status_payload(robot_id: str, state: str) -> dict:
    return {"schema_version": SCHEMA_VERSION, "robot_id": robot_id, "state": state, "ts": time.time()}
