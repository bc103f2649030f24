"""Crack geometry and drawing: a random walk with branches, a width profile tapering to hairline
tips, anti-aliased rendering whose mask marks exactly what was drawn (pixels of at least half
coverage plus the 1-px centreline, so cracks thinner than a pixel stay connected)."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from edge.sim.textures import FIXED_ONE, FIXED_SHIFT, check_count, noise
from dataclasses import dataclass

# Supersampling factor for anti-aliased coverage.
_SS = 4


@dataclass(frozen=True)
class CrackPolyline:
    """One stroke of a crack: centreline points and the full width at each point."""

    points: np.ndarray  # (K, 2) float64, (x, y) pixel coordinates of the centreline in the image
    widths: np.ndarray  # (K,) float64, full width in px at each point


# --------------------------------------------------------------------------------------------
# Crack geometry and drawing


def _sample_width(rng: np.random.Generator) -> float:
    """Max crack width for a patch: mostly 1-5 px, some hairline, some wide."""
    u = rng.random()
    if u < 0.12:
        return float(rng.uniform(0.5, 1.0))
    if u < 0.87:
        return float(rng.uniform(1.0, 5.0))
    return float(rng.uniform(5.0, 8.0))


def _smooth_series(n: int, sigma_steps: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-ish variance random series correlated over about `sigma_steps` samples."""
    pad = int(3 * sigma_steps) + 1
    white = rng.standard_normal(n + 2 * pad)
    k = np.exp(-0.5 * (np.arange(-pad, pad + 1) / max(sigma_steps, 1e-3)) ** 2)
    k /= np.sqrt((k * k).sum())
    return np.convolve(white, k, mode="valid")[:n]


def _walk(start, heading: float, length: float, rng: np.random.Generator, jag: float):
    """Jagged random walk of `length` px around a dominant heading (radians)."""
    step = rng.uniform(2.0, 3.5)
    n = max(2, int(math.ceil(length / step)))
    step = length / n
    bend = _smooth_series(n, n / 3.0, rng) * rng.uniform(0.1, 0.35)  # whole-crack curvature
    meander = _smooth_series(n, rng.uniform(4, 12), rng) * 0.3 * jag  # slow wandering
    # Kinks: the crack runs straight for a few steps, then turns around a grain of aggregate.
    runs = np.cumsum(rng.geometric(1.0 / rng.uniform(3.0, 8.0), n))
    kink_id = np.searchsorted(runs, np.arange(n), side="right")
    kinks = rng.normal(0, 0.45 * jag, int(kink_id.max()) + 1)[kink_id]
    jitter = rng.standard_normal(n) * 0.2 * jag  # step-scale roughness
    ang = heading + np.clip(bend + meander, -1.0, 1.0) + kinks + jitter
    d = np.stack([np.cos(ang), np.sin(ang)], axis=1) * step
    pts = np.vstack([np.asarray(start, float)[None, :], np.asarray(start, float)[None, :] + np.cumsum(d, axis=0)])
    return pts


def _width_profile(n: int, wmax: float, wmin: float, rng: np.random.Generator, tip_at_end: bool) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    if tip_at_end:  # a branch: widest where it leaves the trunk, thinning to a fine tip
        prof = 1.0 - (1.0 - rng.uniform(0.05, 0.4)) * t ** rng.uniform(0.8, 1.5)
    else:  # a trunk: widest somewhere in the middle, tapering towards both ends
        t0 = rng.uniform(0.3, 0.7)
        floor = rng.uniform(0.2, 0.7)
        prof = 1.0 - (1.0 - floor) * (np.abs(t - t0) / max(t0, 1.0 - t0)) ** 1.5
        prof *= np.minimum(1.0, np.minimum(t, 1.0 - t) / 0.08) ** 0.7  # fine tips at both ends
    # Ragged edges: the width changes from step to step and over longer stretches.
    prof = prof * (1.0 + 0.15 * _smooth_series(n, 8.0, rng) + 0.12 * _smooth_series(n, 1.0, rng))
    return np.clip(wmax * prof, wmin, wmax)


def polyline_length(p: np.ndarray) -> float:
    return float(np.sum(np.hypot(*np.diff(p, axis=0).T))) if len(p) > 1 else 0.0


def _freeze(points: np.ndarray, widths: np.ndarray) -> CrackPolyline:
    points = np.ascontiguousarray(points, dtype=np.float64)
    widths = np.ascontiguousarray(widths, dtype=np.float64)
    points.setflags(write=False)
    widths.setflags(write=False)
    return CrackPolyline(points, widths)


def crack_geometry(start, heading_deg: float, length: float, wmax: float, n_branches: int,
                    rng: np.random.Generator, wmin: float) -> Tuple[CrackPolyline, ...]:
    jag = rng.uniform(0.6, 1.3)
    heading = math.radians(heading_deg)
    trunk = _walk(start, heading, length, rng, jag)
    tw = _width_profile(len(trunk), wmax, wmin, rng, tip_at_end=False)
    lines = [_freeze(trunk, tw)]
    n = len(trunk)
    for _ in range(n_branches):
        i = int(rng.integers(int(0.15 * n), max(int(0.15 * n) + 1, int(0.85 * n))))
        i = min(i, n - 2)
        j0, j1 = max(0, i - 3), min(n - 1, i + 3)
        local = math.atan2(trunk[j1, 1] - trunk[j0, 1], trunk[j1, 0] - trunk[j0, 0])
        ang = local + rng.choice([-1.0, 1.0]) * math.radians(rng.uniform(20, 65))
        blen = length * rng.uniform(0.15, 0.5)
        bpts = _walk(trunk[i], ang, blen, rng, jag)
        bw_max = max(wmin, min(wmax, tw[i] * rng.uniform(0.35, 0.8)))
        bw = _width_profile(len(bpts), bw_max, wmin, rng, tip_at_end=True)
        lines.append(_freeze(bpts, bw))
    return tuple(lines)


def geometry_box(polylines: Sequence[CrackPolyline], pad: float):
    pts = np.vstack([p.points for p in polylines])
    wmax = max(float(p.widths.max()) for p in polylines)
    r = wmax / 2.0 + pad
    x0, y0 = np.floor(pts.min(axis=0) - r).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + r).astype(int) + 1
    return int(x0), int(y0), int(x1), int(y1)


def _fixed(p: np.ndarray) -> np.ndarray:
    return np.round(np.clip(p, -(2**20), 2**20) * FIXED_ONE).astype(np.int32)


def render_polylines(rgb: np.ndarray, mask: np.ndarray, polylines: Sequence[CrackPolyline],
                      rng: np.random.Generator):
    """Darken `rgb` along the crack and mark it in `mask`; returns the drawn mask bbox or None."""
    h, w = mask.shape
    wmax = max(float(p.widths.max()) for p in polylines)
    halo_sigma = 0.6 + 0.3 * wmax
    gx0, gy0, gx1, gy1 = geometry_box(polylines, 3.0 * halo_sigma + 2.0)
    x0, y0, x1, y1 = max(0, gx0), max(0, gy0), min(w, gx1), min(h, gy1)
    # Draw the random choices before any early return, so the stream does not depend on clipping.
    depth = rng.uniform(0.45, 0.8)
    halo_amp = rng.uniform(0.1, 0.25)
    var_cell = rng.uniform(4.0, 12.0)
    if x1 <= x0 or y1 <= y0:
        return None
    bw, bh = x1 - x0, y1 - y0
    origin = np.array([x0, y0], float)
    # Coverage: fill the stroke at _SS x resolution, then average down (exact anti-aliasing).
    hi = np.zeros((bh * _SS, bw * _SS), np.uint8)
    centre = np.zeros((bh, bw), np.uint8)
    for pl in polylines:
        q = (pl.points - origin + 0.5) * _SS - 0.5  # pixel centres stay at integer coordinates
        r = pl.widths * (_SS / 2.0)
        seg = np.diff(q, axis=0)
        ln = np.hypot(seg[:, 0], seg[:, 1])
        ok = ln > 1e-9
        nrm = np.zeros_like(seg)
        nrm[ok] = np.stack([-seg[ok, 1], seg[ok, 0]], axis=1) / ln[ok, None]
        a_l, a_r = q[:-1] + nrm * r[:-1, None], q[:-1] - nrm * r[:-1, None]
        b_l, b_r = q[1:] + nrm * r[1:, None], q[1:] - nrm * r[1:, None]
        quads = _fixed(np.stack([a_l, b_l, b_r, a_r], axis=1))
        for k in range(len(quads)):
            if ok[k]:
                cv2.fillConvexPoly(hi, quads[k], 255, cv2.LINE_8, FIXED_SHIFT)
        qc, rc = _fixed(q), np.round(r * FIXED_ONE).astype(np.int64)
        for k in range(len(qc)):
            cv2.circle(hi, (int(qc[k, 0]), int(qc[k, 1])), int(rc[k]), 255, -1, cv2.LINE_8, FIXED_SHIFT)
        cv2.polylines(centre, [_fixed(pl.points - origin)], False, 255, 1, cv2.LINE_8, FIXED_SHIFT)
    cov = cv2.resize(hi, (bw, bh), interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1.0 / 255.0)
    del hi
    local_mask = np.where((cov >= 0.5) | (centre > 0), np.uint8(255), np.uint8(0))
    # Shading: a dark core (depth varies along the crack) and a soft darker halo at the edges.
    var = np.clip(np.float32(1.0) + np.float32(0.2) * noise(bh, bw, var_cell, rng), 0.55, 1.25)
    core = cov * np.float32(depth) * var
    halo = cv2.GaussianBlur(cov, (0, 0), halo_sigma) * np.float32(halo_amp)
    keep = (np.float32(1.0) - np.clip(core, 0, 0.95)) * (np.float32(1.0) - halo)
    region = rgb[y0:y1, x0:x1].astype(np.float32)
    region *= keep[..., None]
    rgb[y0:y1, x0:x1] = np.clip(region + np.float32(0.5), 0, 255).astype(np.uint8)
    np.maximum(mask[y0:y1, x0:x1], local_mask, out=mask[y0:y1, x0:x1])
    ys, xs = np.nonzero(local_mask)
    if len(xs) == 0:
        return None
    return (int(xs.min()) + x0, int(ys.min()) + y0, int(xs.max()) + x0 + 1, int(ys.max()) + y0 + 1)


def draw_crack(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator, start=None, direction_deg=None,
               length_px=None, width_px=None, branches: Optional[int] = None) -> tuple:
    """Draw one branching crack into `rgb` and `mask` in place; returns its polylines.

    start: (x, y) of the trunk's first point, may lie outside the image (default: random inside);
    direction_deg: dominant direction, 0 = +x, 90 = +y (down); length_px: trunk length;
    width_px: maximum full width (the crack tapers below it, never under min(0.5, width_px));
    branches: number of side branches (default: random, 0-3).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be an (H, W, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if mask.shape != rgb.shape[:2] or mask.dtype != np.uint8:
        raise ValueError(f"mask must be an {rgb.shape[:2]} uint8 array, got {mask.shape} {mask.dtype}")
    h, w = mask.shape
    if start is None:
        start = (rng.uniform(0, w), rng.uniform(0, h))
    start = np.asarray(start, float)
    if start.shape != (2,) or not np.all(np.isfinite(start)):
        raise ValueError(f"start must be an (x, y) pair, got {start!r}")
    if direction_deg is None:
        direction_deg = rng.uniform(0, 360)
    if length_px is None:
        length_px = rng.uniform(0.6, 1.2) * max(h, w)
    if not (np.isfinite(length_px) and length_px > 0):
        raise ValueError(f"length_px must be > 0, got {length_px!r}")
    if width_px is None:
        width_px = _sample_width(rng)
    if not (np.isfinite(width_px) and 0 < width_px <= 64):
        raise ValueError(f"width_px must be in (0, 64], got {width_px!r}")
    if branches is None:
        branches = int(rng.choice(4, p=[0.35, 0.35, 0.2, 0.1]))
    branches = check_count("branches", branches)
    lines = crack_geometry(start, float(direction_deg), float(length_px), float(width_px), branches, rng,
                            wmin=min(0.5, float(width_px)))
    render_polylines(rgb, mask, lines, rng)
    return lines


