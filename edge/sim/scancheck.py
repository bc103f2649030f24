"""`python -m edge scan-check`: run the robot offline over the simulator's wall and score every crack
it reports against the wall's known cracks: found, one crack_id, length, max width, position.

The criteria (cracks wider than 1 mm): found; exactly one crack_id; length within 10 %; max width
within 0.5 mm or 20 %; every side of the wall box within 20 mm. `--oracle` measures the exact
masks instead of a segmenter's, which checks measurement, stitching and tracking on their own.
"""
from __future__ import annotations

import statistics
from typing import Dict, List, Sequence

from edge.comms.events import final_reports

LENGTH_REL = 0.10
WIDTH_ABS_MM, WIDTH_REL = 0.5, 0.20
POSITION_MM = 20.0
MIN_WIDTH_MM = 1.0


def _overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _area(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def score_wall(reports: Dict[str, dict], wall, margin_mm: float = POSITION_MM) -> dict:
    """Per known crack: reports on it, and the errors of the best-overlapping one."""
    s = wall.mm_per_px
    rows: List[dict] = []
    used = set()
    for c in wall.cracks:
        box = tuple(v * s for v in c.bbox_px)
        grown = (box[0] - margin_mm, box[1] - margin_mm, box[2] + margin_mm, box[3] + margin_mm)
        hits = [r for r in reports.values() if r["wall"]["bbox_mm"] and _overlaps(r["wall"]["bbox_mm"], grown)]
        used.update(r["crack_id"] for r in hits)
        row = {
            "known_id": c.crack_id,
            "length_mm": round(c.length_px * s, 1),
            "width_max_mm": round(c.max_width_px * s, 2),
            "bbox_mm": [round(v, 1) for v in box],
            "crack_ids": sorted(r["crack_id"] for r in hits),
        }
        if hits:
            best = max(hits, key=lambda r: _area(r["wall"]["bbox_mm"], grown))
            rb = best["wall"]["bbox_mm"]
            row["reported"] = {k: best.get(k) for k in ("length_mm", "width_max_mm", "width_mean_mm", "width_p95_mm",
                                                        "orientation_deg", "below_resolution")}
            row["reported"]["bbox_mm"] = rb
            row["position_error_mm"] = round(max(abs(a - b) for a, b in zip(rb, box)), 1)
            if best.get("length_mm") is not None:
                row["length_error_rel"] = round(best["length_mm"] / row["length_mm"] - 1.0, 4)
                row["width_error_mm"] = round(best["width_max_mm"] - row["width_max_mm"], 3)
        row["pass"] = bool(_passes(row))
        rows.append(row)
    judged = [r for r in rows if r["width_max_mm"] > MIN_WIDTH_MM]
    return {
        "known": len(rows),
        "known_wider_than_1mm": len(judged),
        "found": sum(1 for r in rows if r["crack_ids"]),
        "found_wider_than_1mm": sum(1 for r in judged if r["crack_ids"]),
        "one_id_each": all(len(r["crack_ids"]) == 1 for r in judged),
        "passed_wider_than_1mm": sum(1 for r in judged if r["pass"]),
        "worst_length_error_rel": max(
            (abs(r.get("length_error_rel", 0)) for r in judged if r["crack_ids"]), default=None
        ),
        "worst_width_error_mm": max((abs(r.get("width_error_mm", 0)) for r in judged if r["crack_ids"]), default=None),
        "worst_position_error_mm": max((r.get("position_error_mm", 0) for r in judged if r["crack_ids"]), default=None),
        "reports": len(reports),
        "reports_on_no_known_crack": sorted(set(reports) - used),
        "cracks": rows,
        "reported": [
            {
                "crack_id": r["crack_id"],
                "bbox_mm": r["wall"]["bbox_mm"],
                "length_mm": r.get("length_mm"),
                "width_max_mm": r.get("width_max_mm"),
            }
            for r in reports.values()
        ],
    }


def _length_ok(row: dict) -> bool:
    return abs(row["length_error_rel"]) <= LENGTH_REL


def _width_ok(row: dict) -> bool:
    return abs(row["width_error_mm"]) <= max(WIDTH_ABS_MM, WIDTH_REL * row["width_max_mm"])


def _position_ok(row: dict) -> bool:
    return row["position_error_mm"] <= POSITION_MM


def _passes(row: dict) -> bool:
    if len(row["crack_ids"]) != 1 or "length_error_rel" not in row:
        return False
    return _length_ok(row) and _width_ok(row) and _position_ok(row)


def scan_check(cfg, oracle: bool = False, max_frames=None) -> dict:
    from edge.errors import ConfigError
    from edge.loop.compose import compose
    from edge.loop.runner import run_robot
    from edge.sim.camera import SimCamera
    from edge.sim.oracle import OracleSegmenter
    from edge.sim.sink import MemorySink

    if cfg.camera.type != "sim":
        raise ConfigError(f"scan-check needs camera.type sim, not {cfg.camera.type}")
    events: List[dict] = []
    cfg = cfg.model_copy(update={"evidence": cfg.evidence.model_copy(update={"mqtt": False})})  # nobody to see them
    camera = SimCamera(cfg.camera)
    segment_fn = None
    if oracle:  # exact masks, cut at 0.5, no faint levels
        segment_fn = OracleSegmenter(camera)
        cfg = cfg.model_copy(update={"models": cfg.models.model_copy(
            update={"segmenter": None, "pixel_threshold": OracleSegmenter.threshold, "faint_threshold": None})})
    summary = run_robot(compose(cfg, camera=camera, segment_fn=segment_fn, sink=MemorySink(events.append)),
                        max_frames=max_frames)
    result = score_wall(final_reports(events), camera.wall)
    zoom = f" at {cfg.models.segment_zoom}x zoom" if cfg.models.segment_zoom != 1 else ""
    result["mode"] = "oracle (exact masks)" if oracle else f"segmenter {cfg.models.segmenter}{zoom}"
    result["run"] = {k: summary[k] for k in ("frames", "tiles", "crack_tiles", "segmented_tiles", "cracks",
                                             "events_published", "fps", "model")}
    return result


def parse_seeds(text: str) -> List[int]:
    """"1-7" or "1,4,9" (or both: "1-3,8") -> the wall seeds, in order."""
    seeds: List[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    except ValueError:
        raise ValueError(f"--seeds takes numbers and ranges like 1-7 or 1,4,9, got {text!r}") from None
    if not seeds:
        raise ValueError("--seeds names no wall")
    return seeds


def summarize(results: Sequence[dict]) -> dict:
    """Totals over several walls' scan-check results, for the cracks wider than 1 mm."""
    rows = [r for res in results for r in res["cracks"] if r["width_max_mm"] > MIN_WIDTH_MM]
    measured = [r for r in rows if "length_error_rel" in r]
    lengths = [100 * r["length_error_rel"] for r in measured]
    widths = [r["width_error_mm"] for r in measured]
    positions = [r["position_error_mm"] for r in measured]
    return {
        "walls": len(results),
        "known_wider_than_1mm": len(rows),
        "found": sum(1 for r in rows if r["crack_ids"]),
        "one_id": sum(1 for r in rows if len(r["crack_ids"]) == 1),
        "length_within": sum(1 for r in measured if _length_ok(r)),
        "length_error_abs_mean_pct": round(statistics.fmean(map(abs, lengths)), 1) if lengths else None,
        "length_error_worst_pct": round(max(lengths, key=abs), 1) if lengths else None,
        "width_within": sum(1 for r in measured if _width_ok(r)),
        "width_error_mean_mm": round(statistics.fmean(widths), 2) if widths else None,
        "width_error_range_mm": [round(min(widths), 2), round(max(widths), 2)] if widths else None,
        "position_within": sum(1 for r in measured if _position_ok(r)),
        "position_error_worst_mm": max(positions) if positions else None,
        "passed": sum(1 for r in rows if r["pass"]),
        "reports": sum(res["reports"] for res in results),
        "reports_on_no_known_crack": sum(len(res["reports_on_no_known_crack"]) for res in results),
    }
