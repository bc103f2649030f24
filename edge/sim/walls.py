"""Whole walls with known cracks (in pixels and mm) for the simulated robot camera and the scan-check."""
from __future__ import annotations


import numpy as np

from edge.sim.cracks import crack_geometry, geometry_box, polyline_length, render_polylines
from edge.sim.distractors import add_wall_distractors
from edge.sim.patches import imwrite
from edge.sim.textures import check_count, check_kind, check_size, texture_at_scale
import json
from dataclasses import dataclass
from pathlib import Path

_WALL_MARGIN_PX = 100  # cracks stay this far from the wall border
_WALL_GAP_PX = 300  # and this far from each other's bbox
_WALL_LENGTH_PX = (300.0, 1500.0)


@dataclass(frozen=True)
class WallCrack:
    """A crack drawn on a synthetic wall, with its ground truth."""

    crack_id: int  # 1-based, so an id image can keep 0 for background
    polylines: tuple  # tuple[CrackPolyline, ...]: the trunk first, then branches
    bbox_px: tuple  # (x0, y0, x1, y1) of the drawn crack pixels (x1, y1 exclusive), ints
    max_width_px: float
    length_px: float  # total centreline length of all polylines


@dataclass(frozen=True)
class SyntheticWall:
    """A large wall image with known cracks, for the simulated robot camera."""

    rgb: np.ndarray  # (H, W, 3) uint8 RGB
    mask: np.ndarray  # (H, W) uint8, 255 = crack
    cracks: tuple  # tuple[WallCrack, ...]
    mm_per_px: float
    kind: str  # "concrete" | "masonry"


# --------------------------------------------------------------------------------------------
# Walls


def _boxes_clear(box, placed, gap: int) -> bool:
    x0, y0, x1, y1 = box
    for bx0, by0, bx1, by1 in placed:
        if not (x0 >= bx1 + gap or bx0 >= x1 + gap or y0 >= by1 + gap or by0 >= y1 + gap):
            return False
    return True


def render_wall(width_px: int = 6000, height_px: int = 3000, n_cracks: int = 8, kind: str = "concrete",
                seed: int = 0, mm_per_px: float = 0.5, width_range_px=(0.5, 8.0)) -> SyntheticWall:
    """A wall with `n_cracks` well-separated cracks of known geometry.

    Each crack is 300-1500 px of centreline in total, its max width drawn uniformly from
    width_range_px (its widths never leave that range), its bbox at least 100 px inside the
    wall and at least 300 px from every other crack's bbox. Raises ValueError if they cannot fit.
    """
    width_px = check_size("width_px", width_px, 64)
    height_px = check_size("height_px", height_px, 64)
    n_cracks = check_count("n_cracks", n_cracks)
    kind = check_kind(kind)
    if not (np.isfinite(mm_per_px) and mm_per_px > 0):
        raise ValueError(f"mm_per_px must be > 0, got {mm_per_px!r}")
    try:
        wlo, whi = (float(v) for v in width_range_px)
    except (TypeError, ValueError):
        raise ValueError(f"width_range_px must be a (min, max) pair, got {width_range_px!r}") from None
    if not (0 < wlo <= whi <= 64):
        raise ValueError(f"width_range_px must satisfy 0 < min <= max <= 64, got {width_range_px!r}")
    margin, gap = _WALL_MARGIN_PX, _WALL_GAP_PX
    lmin, lmax = _WALL_LENGTH_PX
    if n_cracks and (width_px < 2 * margin + 2 * lmin / 3 or height_px < 2 * margin + 2 * lmin / 3):
        raise ValueError(f"a {width_px}x{height_px} px wall is too small for 300 px cracks; make it at least 400x400")

    rng = np.random.default_rng(seed)
    ppm = 1.0 / float(mm_per_px)
    rgb = texture_at_scale(height_px, width_px, kind, rng, ppm)
    add_wall_distractors(rgb, rng, kind, ppm)
    mask = np.zeros((height_px, width_px), np.uint8)

    placed, cracks = [], []
    geo_rng = np.random.default_rng(rng.integers(0, 2**62))
    for cid in range(1, n_cracks + 1):
        for attempt in range(600):
            # After many misses, try shorter cracks: they fit in the gaps that are left.
            hi_len = lmax - (lmax - lmin) * min(1.0, attempt / 400.0)
            total = geo_rng.uniform(lmin, max(lmin, hi_len))
            wmax = geo_rng.uniform(wlo, whi)
            nb = int(geo_rng.choice(4, p=[0.3, 0.35, 0.25, 0.1]))
            trunk_len = total / (1.0 + 0.32 * nb)
            start = (geo_rng.uniform(margin, width_px - margin), geo_rng.uniform(margin, height_px - margin))
            lines = crack_geometry(start, geo_rng.uniform(0, 360), trunk_len, wmax, nb, geo_rng, wmin=wlo)
            length = sum(polyline_length(p.points) for p in lines)
            if not (lmin <= length <= lmax):
                continue
            box = geometry_box(lines, 1.0)  # contains every pixel the mask can mark
            if box[0] < margin or box[1] < margin or box[2] > width_px - margin or box[3] > height_px - margin:
                continue
            if _boxes_clear(box, placed, gap):
                break
        else:
            raise ValueError(
                f"cannot place {n_cracks} separated cracks on a {width_px}x{height_px} px wall "
                f"(placed {cid - 1}); use fewer cracks or a larger wall"
            )
        placed.append(box)
        drawn = render_polylines(rgb, mask, lines, geo_rng)
        if drawn is None:  # cannot happen inside the wall, but never report an empty bbox
            drawn = box
        cracks.append(WallCrack(
            crack_id=cid,
            polylines=lines,
            bbox_px=drawn,
            max_width_px=float(max(p.widths.max() for p in lines)),
            length_px=float(length),
        ))
    return SyntheticWall(rgb=rgb, mask=mask, cracks=tuple(cracks), mm_per_px=float(mm_per_px), kind=kind)


def _r(v: float, nd: int = 3) -> float:
    return round(float(v), nd)


def save_wall(wall: SyntheticWall, out_dir) -> None:
    """Write wall.png, wall_mask.png and cracks.json (geometry in px and mm) into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    imwrite(out / "wall.png", wall.rgb)
    imwrite(out / "wall_mask.png", wall.mask)
    m = wall.mm_per_px
    doc = {
        "kind": wall.kind,
        "mm_per_px": m,
        "width_px": int(wall.rgb.shape[1]),
        "height_px": int(wall.rgb.shape[0]),
        "width_mm": _r(wall.rgb.shape[1] * m),
        "height_mm": _r(wall.rgb.shape[0] * m),
        "origin": "top-left; x right, y down; mm = px * mm_per_px",
        "cracks": [
            {
                "crack_id": c.crack_id,
                "bbox_px": [int(v) for v in c.bbox_px],
                "bbox_mm": [_r(v * m) for v in c.bbox_px],
                "length_px": _r(c.length_px),
                "length_mm": _r(c.length_px * m),
                "max_width_px": _r(c.max_width_px),
                "max_width_mm": _r(c.max_width_px * m),
                "polylines": [
                    {
                        "points_px": [[_r(x, 2), _r(y, 2)] for x, y in p.points],
                        "points_mm": [[_r(x * m, 2), _r(y * m, 2)] for x, y in p.points],
                        "widths_px": [_r(v) for v in p.widths],
                        "widths_mm": [_r(v * m) for v in p.widths],
                    }
                    for p in c.polylines
                ],
            }
            for c in wall.cracks
        ],
    }
    (out / "cracks.json").write_text(json.dumps(doc, separators=(",", ":")))


