"""Compares the cracks in a registry with the known cracks of a synthetic wall.

A reported crack matches a known one when its wall box overlaps the known crack's box and lies
within `tolerance_mm` of it on every side. With tile-level detection a box can overhang the crack
by up to one tile, so the natural tolerance is the tile size in mm.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

Box = Tuple[float, float, float, float]


def known_boxes_mm(wall) -> Dict[int, Box]:
    """Wall mm boxes of the known cracks of an edge.sim.SyntheticWall."""
    s = wall.mm_per_px
    return {c.crack_id: tuple(v * s for v in c.bbox_px) for c in wall.cracks}


def _overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _within(inner: Box, outer: Box, tol: float) -> bool:
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
            and inner[2] <= outer[2] + tol and inner[3] <= outer[3] + tol)


def offsets_mm(reported: Box, known: Box) -> float:
    """Largest distance between corresponding sides of the two boxes."""
    return max(abs(r - k) for r, k in zip(reported, known))


def score(reported: Sequence[dict], known: Dict[int, Box], tolerance_mm: float) -> dict:
    """reported: registry crack dicts (wall_bbox_mm); known: id -> box. Returns matches and counts."""
    matches: Dict[int, List[str]] = {k: [] for k in known}
    unmatched: List[str] = []
    worst_offset = 0.0
    for crack in reported:
        box = crack.get("wall_bbox_mm")
        hits = [k for k, kb in known.items() if box and _overlaps(box, kb) and _within(box, kb, tolerance_mm)]
        if not hits:
            unmatched.append(crack["crack_id"])
        for k in hits:
            matches[k].append(crack["crack_id"])
            worst_offset = max(worst_offset, offsets_mm(box, known[k]))
    return {
        "known": len(known),
        "found": sum(1 for ids in matches.values() if ids),
        "missed": sorted(k for k, ids in matches.items() if not ids),
        "split": sorted(k for k, ids in matches.items() if len(ids) > 1),  # one physical crack, several ids
        "unmatched_reports": unmatched,
        "max_side_offset_mm": round(worst_offset, 1),
        "tolerance_mm": tolerance_mm,
        "matches": {str(k): ids for k, ids in matches.items()},
    }


def measurement_scores(reported: Sequence[dict], wall) -> dict:
    """Length, max width and position of every known crack as the registry reports it (with a segmenter
    on the robot), judged as `python -m edge scan-check` judges them: found, one crack_id, length within
    10 %, max width within 0.5 mm or 20 %, every side of the wall box within 20 mm.

    reported: registry crack dicts (crack_id, wall_bbox_mm, length_mm, width_max_mm, ...);
    wall: the edge.sim.SyntheticWall the robot scanned."""
    from edge.sim.scancheck import score_wall

    as_events = {
        c["crack_id"]: {"crack_id": c["crack_id"], "wall": {"bbox_mm": c.get("wall_bbox_mm")},
                        **{k: c.get(k) for k in ("length_mm", "width_max_mm", "width_mean_mm", "width_p95_mm",
                                                 "orientation_deg", "below_resolution")}}
        for c in reported
    }
    return score_wall(as_events, wall)
