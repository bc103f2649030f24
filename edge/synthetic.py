"""Deterministic synthetic cracks on concrete and masonry, numpy + OpenCV only.

Used by the tests (data the project generates itself), by train/ as default training data
(classification and segmentation folders), and by the simulated robot camera (a large wall
image whose cracks are known exactly, in pixels and in mm).

Conventions:
- images are uint8 RGB, masks uint8 with 255 = crack and 0 = background;
- coordinates are (x, y) with pixel centres at integer values (OpenCV's convention);
  on a wall, mm = px * mm_per_px from the top-left corner, y pointing down;
- every function that draws takes a ``np.random.Generator`` or a seed: the same seed gives
  byte-identical output, and nothing uses a global random state;
- a mask marks exactly what was drawn: pixels whose crack coverage is at least half, plus the
  1-px centreline (so cracks thinner than a pixel, drawn with reduced contrast, stay connected).

Run ``python -m edge.synthetic --help`` for the command line.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple

import cv2
import numpy as np

logger = logging.getLogger(__name__)

KINDS = ("concrete", "masonry")

# Crack drawing: supersampling factor for anti-aliased coverage, and fixed-point bits for OpenCV.
_SS = 4
_SHIFT = 4
_ONE = 1 << _SHIFT

# Physical sizes (mm) that set the texture scale; patches pick a random px/mm per kind.
_PATCH_PX_PER_MM = {"concrete": (1.2, 3.0), "masonry": (0.55, 1.5)}
_BRICK_MM = (215.0, 65.0)  # length, height of a standard brick
_JOINT_MM = 10.0

# Brick palettes in linear-ish RGB (0..1): red, dark red, orange, brown, buff, grey.
_BRICK_PALETTES = np.array(
    [
        [0.62, 0.27, 0.20],
        [0.47, 0.22, 0.17],
        [0.72, 0.40, 0.28],
        [0.50, 0.35, 0.26],
        [0.74, 0.62, 0.45],
        [0.52, 0.50, 0.48],
    ],
    np.float32,
)
_BRICK_PALETTE_P = np.array([0.3, 0.15, 0.15, 0.2, 0.1, 0.1])

_WALL_MARGIN_PX = 100  # cracks stay this far from the wall border
_WALL_GAP_PX = 300  # and this far from each other's bbox
_WALL_LENGTH_PX = (300.0, 1500.0)


# --------------------------------------------------------------------------------------------
# Public data


@dataclass(frozen=True)
class CrackPolyline:
    """One stroke of a crack: centreline points and the full width at each point."""

    points: np.ndarray  # (K, 2) float64, (x, y) pixel coordinates of the centreline in the image
    widths: np.ndarray  # (K,) float64, full width in px at each point


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
# Argument checks


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def _check_kinds(kinds: Sequence[str]) -> Tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds must name at least one of concrete, masonry")
    for k in kinds:
        _check_kind(k)
    return kinds


def _check_size(name: str, value: int, minimum: int = 16) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Noise helpers (all float32, vectorised; big fields are made small and upsampled)


def _noise(h: int, w: int, cell: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth value noise with features about `cell` px across, roughly unit variance."""
    if cell <= 1.0:
        return rng.standard_normal((h, w), dtype=np.float32)
    gh = int(math.ceil(h / cell)) + 4
    gw = int(math.ceil(w / cell)) + 4
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    if cell > 12:
        # Coarse fields: interpolate to 1/4 resolution with cubic, then linear to full size,
        # which costs far less than one cubic pass at full size and looks the same.
        hq, wq = max(1, -(-h // 4)), max(1, -(-w // 4))
        cq = cell / 4.0
        big = cv2.resize(grid, (int(round(gw * cq)), int(round(gh * cq))), interpolation=cv2.INTER_CUBIC)
        oy = int(rng.integers(0, max(1, int(cq)))) + int(round(cq))
        ox = int(rng.integers(0, max(1, int(cq)))) + int(round(cq))
        small = big[oy : oy + hq, ox : ox + wq]
        out = cv2.resize(small, (wq * 4, hq * 4), interpolation=cv2.INTER_LINEAR)[:h, :w]
    else:
        # Fine grain looks the same with linear interpolation, which is about twice as fast.
        interp = cv2.INTER_CUBIC if cell > 5 else cv2.INTER_LINEAR
        big = cv2.resize(grid, (int(round(gw * cell)), int(round(gh * cell))), interpolation=interp)
        oy = int(rng.integers(0, max(1, int(cell)))) + int(round(cell))
        ox = int(rng.integers(0, max(1, int(cell)))) + int(round(cell))
        out = big[oy : oy + h, ox : ox + w]
    # Cubic interpolation of white noise shrinks the variance; bring it back near 1.
    return np.ascontiguousarray(out) * np.float32(1.45)


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - np.float32(lo)) * np.float32(1.0 / (hi - lo)), 0.0, 1.0)
    return t * t * (np.float32(3.0) - np.float32(2.0) * t)


def _illumination(h: int, w: int, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Gentle light gradient plus a soft vignette, as a multiplicative field near 1."""
    ang = rng.uniform(0, 2 * math.pi)
    gx, gy = math.cos(ang), math.sin(ang)
    amp = rng.uniform(0.3, 1.0) * strength
    ys = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    xs = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
    field = np.float32(1.0) + np.float32(amp) * (xs * np.float32(gx) + ys * np.float32(gy))
    vig = np.float32(rng.uniform(0.0, 0.5) * strength)
    field = field - vig * (xs * xs + ys * ys)
    return field.astype(np.float32)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(x * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Textures


def _concrete(h: int, w: int, rng: np.random.Generator, ppm: float) -> np.ndarray:
    base = rng.uniform(0.50, 0.72)
    lum = np.full((h, w), base, np.float32)
    # Multi-scale mottling: faint cloudy areas down to sand grain.
    for cell_mm, amp in ((150.0, 0.015), (40.0, 0.011), (8.0, 0.012), (2.0, 0.018)):
        lum += np.float32(amp * rng.uniform(0.6, 1.4)) * _noise(h, w, cell_mm * ppm, rng)
    lum += np.float32(rng.uniform(0.018, 0.035)) * rng.standard_normal((h, w), dtype=np.float32)
    # Aggregate and sand: ragged flecks (two scales mixed), some lighter, some darker than the paste.
    agg_cell = rng.uniform(1.5, 3.5) * ppm
    ragged = np.float32(0.6) * _noise(h, w, max(1.0, agg_cell * 0.35), rng)
    light = _smoothstep(_noise(h, w, agg_cell, rng) + ragged, 1.5, 2.3)
    lum += np.float32(rng.uniform(0.03, 0.07)) * light
    dark = _smoothstep(_noise(h, w, agg_cell * 0.7, rng) - ragged, 1.7, 2.5)
    lum -= np.float32(rng.uniform(0.03, 0.07)) * dark
    del ragged, light, dark
    # Bug holes (small pores): dark pits, a few bigger than the rest.
    n_pores = rng.poisson(h * w / (ppm * ppm) / 1500.0 * rng.uniform(0.2, 1.5))
    if n_pores:
        pores = np.zeros((h, w), np.uint8)
        xs = rng.uniform(0, w, n_pores)
        ys = rng.uniform(0, h, n_pores)
        rs = np.maximum(0.6, rng.gamma(1.5, 0.6, n_pores) * ppm)
        for x, y, r in zip(xs, ys, rs):
            cv2.circle(pores, (int(x * _ONE), int(y * _ONE)), int(r * _ONE), 255, -1, cv2.LINE_AA, _SHIFT)
        pores = cv2.GaussianBlur(pores, (0, 0), 0.6)
        lum -= np.float32(rng.uniform(0.15, 0.3) / 255.0) * pores.astype(np.float32)
    # Large faint stains (water, curing marks).
    if rng.random() < 0.6:
        st = _smoothstep(_noise(h, w, 60.0 * ppm, rng), 0.6, 1.8)
        lum -= np.float32(rng.uniform(0.015, 0.045)) * st
    lum *= _illumination(h, w, rng, 0.18)
    # Concrete is near-neutral grey, from slightly cool to slightly warm (sandy).
    tint = np.float32(1.0 + rng.normal(0, 0.004)) + np.float32(rng.uniform(-0.01, 0.045)) * np.array(
        [1.0, 0.3, -0.9], np.float32)
    out = np.empty((h, w, 3), np.uint8)
    chroma = _noise(h, w, 80.0 * ppm, rng) * np.float32(0.006)
    for c in range(3):
        sign = (1.0, 0.0, -1.0)[c]
        out[..., c] = _to_uint8(lum * (tint[c] + np.float32(sign) * chroma))
    return out


def _masonry(h: int, w: int, rng: np.random.Generator, ppm: float) -> np.ndarray:
    course = (_BRICK_MM[1] + _JOINT_MM) * ppm * rng.uniform(0.92, 1.08)
    joint = max(2.0, _JOINT_MM * ppm * rng.uniform(0.8, 1.25))
    brick_len = (_BRICK_MM[0] + _JOINT_MM) * ppm * rng.uniform(0.95, 1.05)
    # Hand-laid courses wander a little: warp the coordinates with low-frequency noise.
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    wob = np.float32(joint * 0.1)
    yw = ys + wob * _noise(h, w, course * 3.0, rng) + np.float32(rng.uniform(0, course))
    row = np.floor(yw / np.float32(course)).astype(np.int32)
    fy = yw - row.astype(np.float32) * np.float32(course)
    n_rows = int(row.max()) + 2
    row_off = (np.arange(n_rows) % 2) * brick_len * 0.5 + rng.normal(0, brick_len * 0.04, n_rows)
    row_off += rng.uniform(0, brick_len)
    xw = xs + row_off.astype(np.float32)[row] + wob * _noise(h, w, course * 3.0, rng)
    col = np.floor(xw / np.float32(brick_len)).astype(np.int32)
    fx = xw - col.astype(np.float32) * np.float32(brick_len)
    del xw, yw
    n_cols = int(col.max()) + 2
    bid = row * np.int32(n_cols) + col
    n_b = n_rows * n_cols
    # Mortar: the band at the top of each course and at the start of each brick, soft-edged.
    j = np.float32(joint)
    # Chipped arrises: the brick/mortar boundary is ragged at the scale of a few mm.
    rough = np.float32(joint * rng.uniform(0.04, 0.1)) * _noise(h, w, max(2.0, 4.0 * ppm), rng)
    m_y = _smoothstep(j - fy + rough, -0.7, 0.7)
    m_x = _smoothstep(j - fx - rough, -0.7, 0.7)
    del rough
    mortar = np.maximum(m_y, m_x)
    # Per-brick colour: one palette per wall, brick-to-brick variation, a few odd bricks.
    pal = _BRICK_PALETTES[rng.choice(len(_BRICK_PALETTES), p=_BRICK_PALETTE_P)]
    colours = pal[None, :] * rng.uniform(0.78, 1.18, (n_b, 1)).astype(np.float32)
    colours *= np.float32(1.0) + rng.normal(0, 0.035, (n_b, 3)).astype(np.float32)
    odd = rng.random(n_b) < 0.06
    colours[odd] *= rng.uniform(0.55, 0.8, (int(odd.sum()), 1)).astype(np.float32)
    grad = rng.normal(0, 0.07, n_b).astype(np.float32)  # burn shading along each brick
    # Brick surface: mottled, pitted, darker towards its arrises.
    blum = np.float32(1.0) + np.float32(0.06) * _noise(h, w, 12.0 * ppm, rng)
    blum += np.float32(0.05) * _noise(h, w, 2.5 * ppm, rng)
    blum += np.float32(0.04) * rng.standard_normal((h, w), dtype=np.float32)
    blum -= np.float32(0.15) * _smoothstep(_noise(h, w, 3.0 * ppm, rng), 1.5, 2.2)
    blum += grad[bid] * (fx / np.float32(brick_len) - np.float32(0.5))
    edge_d = np.minimum(fy - j, fx - j)
    blum -= np.float32(0.10) * (np.float32(1.0) - _smoothstep(edge_d, 0.0, 2.5 * ppm + 1.0))
    # Mortar surface: sandy grey; recessed, so shadowed just under the brick above.
    mortar_base = rng.uniform(0.45, 0.72)
    mlum = np.float32(mortar_base) + np.float32(0.05) * _noise(h, w, 1.5 * ppm, rng)
    mlum += np.float32(0.03) * rng.standard_normal((h, w), dtype=np.float32)
    recess = np.float32(rng.uniform(0.15, 0.45))
    mlum *= np.float32(1.0) - recess * (np.float32(1.0) - _smoothstep(fy, 0.0, float(j) * 0.7))
    mcol = np.array([1.0, 0.97, 0.92], np.float32) + rng.normal(0, 0.015, 3).astype(np.float32)
    # Dirt, efflorescence and light over the whole wall.
    glob = np.float32(1.0) + np.float32(0.05) * _noise(h, w, 150.0 * ppm, rng)
    glob *= _illumination(h, w, rng, 0.18)
    if rng.random() < 0.4:
        glob -= np.float32(rng.uniform(0.04, 0.12)) * _smoothstep(_noise(h, w, 80.0 * ppm, rng), 0.6, 1.8)
    out = np.empty((h, w, 3), np.uint8)
    brick_l = blum * glob
    mort_l = mlum * glob
    inv = np.float32(1.0) - mortar
    for c in range(3):
        out[..., c] = _to_uint8(inv * brick_l * colours[:, c][bid] + mortar * mort_l * mcol[c])
    return out


def _render_texture(h: int, w: int, kind: str, rng: np.random.Generator, ppm: float) -> np.ndarray:
    if kind == "concrete":
        return _concrete(h, w, rng, ppm)
    return _masonry(h, w, rng, ppm)


def render_texture(height: int, width: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A crack-free concrete or masonry surface, (height, width, 3) uint8 RGB.

    The scale (px per mm) is drawn from `rng` within the range used for training patches.
    """
    height = _check_size("height", height, 1)
    width = _check_size("width", width, 1)
    kind = _check_kind(kind)
    ppm = rng.uniform(*_PATCH_PX_PER_MM[kind])
    return _render_texture(height, width, kind, rng, ppm)


# --------------------------------------------------------------------------------------------
# Distractors: dark or linear things that are not cracks, on positives and negatives alike


def _region(rgb: np.ndarray, cx: float, cy: float, rx: float, ry: float):
    h, w = rgb.shape[:2]
    x0, x1 = max(0, int(cx - rx)), min(w, int(math.ceil(cx + rx)) + 1)
    y0, y1 = max(0, int(cy - ry)), min(h, int(math.ceil(cy + ry)) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _blend(rgb: np.ndarray, box, alpha: np.ndarray, colour_fn) -> None:
    """rgb[box] = mix(rgb, colour_fn(rgb), alpha), in float, written back in place."""
    x0, y0, x1, y1 = box
    f = rgb[y0:y1, x0:x1].astype(np.float32) * np.float32(1.0 / 255.0)
    a = alpha[..., None]
    f = f * (np.float32(1.0) - a) + colour_fn(f) * a
    rgb[y0:y1, x0:x1] = _to_uint8(f)


def _stain(rgb, rng, ppm):
    h, w = rgb.shape[:2]
    r = rng.uniform(15, 90) * ppm
    rx, ry = r * rng.uniform(0.6, 1.4), r * rng.uniform(0.6, 1.4)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    box = _region(rgb, cx, cy, rx * 1.3, ry * 1.3)
    if box is None:
        return
    x0, y0, x1, y1 = box
    yy = (np.arange(y0, y1, dtype=np.float32)[:, None] - cy) / np.float32(ry)
    xx = (np.arange(x0, x1, dtype=np.float32)[None, :] - cx) / np.float32(rx)
    d = np.sqrt(xx * xx + yy * yy) + np.float32(0.2) * _noise(y1 - y0, x1 - x0, max(2.0, r / 2.5), rng)
    d += np.float32(0.06) * _noise(y1 - y0, x1 - x0, max(1.5, r / 10), rng)
    alpha = (np.float32(1.0) - _smoothstep(d, rng.uniform(0.1, 0.6), 1.0)) * np.float32(rng.uniform(0.25, 0.7))
    what = rng.choice(3, p=[0.6, 0.25, 0.15])
    if what == 0:  # dirt or damp: darker, slightly warm
        k = np.array([0.72, 0.70, 0.68], np.float32) * np.float32(rng.uniform(0.8, 1.1))
        _blend(rgb, box, alpha, lambda f: f * k)
    elif what == 1:  # rust
        rust = np.array([0.55, 0.32, 0.18], np.float32)
        _blend(rgb, box, alpha * np.float32(0.6), lambda f: f.mean(axis=2, keepdims=True) * rust * np.float32(1.5))
    else:  # efflorescence: whitish bloom
        _blend(rgb, box, alpha * np.float32(0.6), lambda f: f * np.float32(0.4) + np.float32(0.55))


def _spots(rgb, rng, ppm):
    h, w = rgb.shape[:2]
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    spread = rng.uniform(10, 60) * ppm
    n = int(rng.integers(3, 25))
    box = _region(rgb, cx, cy, spread * 2.5 + 8 * ppm, spread * 2.5 + 8 * ppm)
    if box is None:
        return
    x0, y0, x1, y1 = box
    layer = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for _ in range(n):
        px, py = cx + rng.normal(0, spread) - x0, cy + rng.normal(0, spread) - y0
        rad = max(0.7, rng.gamma(2.0, 0.6) * ppm)
        cv2.circle(layer, (int(px * _ONE), int(py * _ONE)), int(rad * _ONE), 255, -1, cv2.LINE_AA, _SHIFT)
    alpha = layer.astype(np.float32) * np.float32(rng.uniform(0.25, 0.7) / 255.0)
    _blend(rgb, box, alpha, lambda f: f * np.float32(0.35))


def _shadow(rgb, rng, ppm):
    """A soft straight-edged shadow across the whole image (a ledge, the robot, a pipe)."""
    h, w = rgb.shape[:2]
    ang = rng.uniform(0, 2 * math.pi)
    nx, ny = math.cos(ang), math.sin(ang)
    off = rng.uniform(-0.4, 0.4) * min(h, w)
    ys = np.arange(h, dtype=np.float32)[:, None] - np.float32(h / 2)
    xs = np.arange(w, dtype=np.float32)[None, :] - np.float32(w / 2)
    d = xs * np.float32(nx) + ys * np.float32(ny) - np.float32(off)
    soft = rng.uniform(3, 40)
    alpha = _smoothstep(d, -soft, soft) * np.float32(rng.uniform(0.12, 0.35))
    _blend(rgb, (0, 0, w, h), alpha, lambda f: f * np.float32(0.55))


def _formwork_line(rgb, rng, ppm, axis_aligned: bool = False, full: bool = False):
    """A formwork panel joint: a dead-straight fin (light ridge beside a faint shadow)."""
    h, w = rgb.shape[:2]
    if axis_aligned:
        ang = rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.003)
    else:
        ang = rng.uniform(0, math.pi)
    dx, dy = math.cos(ang), math.sin(ang)
    cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    half = (h + w) if full else rng.uniform(60, 400) * ppm
    p0 = np.array([cx - dx * half, cy - dy * half])
    p1 = np.array([cx + dx * half, cy + dy * half])
    pad = 8
    bx0, by0 = max(0, int(min(p0[0], p1[0])) - pad), max(0, int(min(p0[1], p1[1])) - pad)
    bx1, by1 = min(w, int(max(p0[0], p1[0])) + pad + 1), min(h, int(max(p0[1], p1[1])) + pad + 1)
    if bx1 <= bx0 or by1 <= by0:
        return
    layer_l = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
    layer_d = np.zeros_like(layer_l)
    nxv, nyv = -dy, dx
    sep = max(1.0, 0.8 * ppm)
    o = np.array([bx0, by0], float)
    for layer, s in ((layer_l, 0.0), (layer_d, sep)):
        a = (p0 - o + s * np.array([nxv, nyv])) * _ONE
        b = (p1 - o + s * np.array([nxv, nyv])) * _ONE
        a = np.clip(a, -(2**28), 2**28)
        b = np.clip(b, -(2**28), 2**28)
        cv2.line(layer, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 255, max(1, int(round(ppm * 0.8))), cv2.LINE_AA, _SHIFT)
    al = cv2.GaussianBlur(layer_l, (0, 0), 0.7).astype(np.float32) * np.float32(rng.uniform(0.1, 0.25) / 255.0)
    ad = cv2.GaussianBlur(layer_d, (0, 0), 0.9).astype(np.float32) * np.float32(rng.uniform(0.05, 0.15) / 255.0)
    box = (bx0, by0, bx1, by1)
    _blend(rgb, box, al, lambda f: np.minimum(f * np.float32(1.5) + np.float32(0.1), 1.0))
    _blend(rgb, box, ad, lambda f: f * np.float32(0.5))


def _tie_hole(rgb, rng, ppm, cx=None, cy=None):
    """A plugged form-tie hole: a dark disc with a lighter ring."""
    h, w = rgb.shape[:2]
    r = rng.uniform(8, 14) * ppm
    cx = rng.uniform(0, w) if cx is None else cx
    cy = rng.uniform(0, h) if cy is None else cy
    box = _region(rgb, cx, cy, r * 1.6 + 2, r * 1.6 + 2)
    if box is None:
        return
    x0, y0, x1, y1 = box
    yy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(cy)
    xx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(cx)
    d = np.sqrt(xx * xx + yy * yy) / np.float32(r)
    inner = np.float32(1.0) - _smoothstep(d, 0.85, 1.0)
    ring = (_smoothstep(d, 0.9, 1.05) - _smoothstep(d, 1.15, 1.5)) * np.float32(0.5)
    _blend(rgb, box, inner * np.float32(rng.uniform(0.4, 0.75)), lambda f: f * np.float32(0.35))
    _blend(rgb, box, ring * np.float32(rng.uniform(0.2, 0.6)), lambda f: np.minimum(f * np.float32(1.25), 1.0))


def _scratches(rgb, rng, ppm):
    """Short straight scuffs: lighter than the surface, unlike cracks."""
    h, w = rgb.shape[:2]
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    spread = rng.uniform(10, 50) * ppm
    base_ang = rng.uniform(0, math.pi)
    layer = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 7))):
        ang = base_ang + rng.normal(0, 0.25)
        ln = rng.uniform(10, 60) * ppm
        px, py = cx + rng.normal(0, spread), cy + rng.normal(0, spread)
        a = (int((px - math.cos(ang) * ln / 2) * _ONE), int((py - math.sin(ang) * ln / 2) * _ONE))
        b = (int((px + math.cos(ang) * ln / 2) * _ONE), int((py + math.sin(ang) * ln / 2) * _ONE))
        cv2.line(layer, a, b, 255, 1, cv2.LINE_AA, _SHIFT)
    alpha = layer.astype(np.float32) * np.float32(rng.uniform(0.15, 0.4) / 255.0)
    _blend(rgb, (0, 0, w, h), alpha, lambda f: np.minimum(f * np.float32(1.4) + np.float32(0.08), 1.0))


def _add_patch_distractors(rgb: np.ndarray, rng: np.random.Generator, kind: str, ppm: float) -> None:
    """Each distractor appears with a fixed probability, whether the patch has a crack or not."""
    if rng.random() < 0.35:
        _stain(rgb, rng, ppm)
    if rng.random() < 0.25:
        _spots(rgb, rng, ppm)
    if rng.random() < 0.2:
        _shadow(rgb, rng, ppm)
    if rng.random() < 0.25:
        _scratches(rgb, rng, ppm)
    if kind == "concrete":
        if rng.random() < 0.15:
            _formwork_line(rgb, rng, ppm, axis_aligned=rng.random() < 0.5, full=True)
        if rng.random() < 0.08:
            _tie_hole(rgb, rng, ppm)


def _add_wall_distractors(rgb: np.ndarray, rng: np.random.Generator, kind: str, ppm: float) -> None:
    h, w = rgb.shape[:2]
    area_m2 = h * w / (ppm * ppm) / 1e6
    for _ in range(rng.poisson(2.0 * area_m2)):
        _stain(rgb, rng, ppm)
    for _ in range(rng.poisson(1.5 * area_m2)):
        _spots(rgb, rng, ppm)
    for _ in range(rng.poisson(3.0 * area_m2)):
        # Scratches act on a local window so a big wall stays cheap.
        cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        s = int(150 * ppm)
        box = (max(0, cx - s), max(0, cy - s), min(w, cx + s), min(h, cy + s))
        sub = rgb[box[1] : box[3], box[0] : box[2]]
        _scratches(sub, rng, ppm)
    if kind == "concrete":
        # Formwork panel joints run the full wall, and tie holes sit on a regular grid.
        for _ in range(rng.poisson(1.5)):
            _formwork_line(rgb, rng, ppm, axis_aligned=True, full=True)
        if rng.random() < 0.6:
            pitch = rng.uniform(450, 900) * ppm
            ox, oy = rng.uniform(0, pitch), rng.uniform(0, pitch)
            for gy in np.arange(oy, h, pitch):
                for gx in np.arange(ox, w, pitch):
                    _tie_hole(rgb, rng, ppm, gx + rng.normal(0, 2), gy + rng.normal(0, 2))


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


def _polyline_length(p: np.ndarray) -> float:
    return float(np.sum(np.hypot(*np.diff(p, axis=0).T))) if len(p) > 1 else 0.0


def _freeze(points: np.ndarray, widths: np.ndarray) -> CrackPolyline:
    points = np.ascontiguousarray(points, dtype=np.float64)
    widths = np.ascontiguousarray(widths, dtype=np.float64)
    points.setflags(write=False)
    widths.setflags(write=False)
    return CrackPolyline(points, widths)


def _crack_geometry(start, heading_deg: float, length: float, wmax: float, n_branches: int,
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


def _geometry_box(polylines: Sequence[CrackPolyline], pad: float):
    pts = np.vstack([p.points for p in polylines])
    wmax = max(float(p.widths.max()) for p in polylines)
    r = wmax / 2.0 + pad
    x0, y0 = np.floor(pts.min(axis=0) - r).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + r).astype(int) + 1
    return int(x0), int(y0), int(x1), int(y1)


def _fixed(p: np.ndarray) -> np.ndarray:
    return np.round(np.clip(p, -(2**20), 2**20) * _ONE).astype(np.int32)


def _render_polylines(rgb: np.ndarray, mask: np.ndarray, polylines: Sequence[CrackPolyline],
                      rng: np.random.Generator):
    """Darken `rgb` along the crack and mark it in `mask`; returns the drawn mask bbox or None."""
    h, w = mask.shape
    wmax = max(float(p.widths.max()) for p in polylines)
    halo_sigma = 0.6 + 0.3 * wmax
    gx0, gy0, gx1, gy1 = _geometry_box(polylines, 3.0 * halo_sigma + 2.0)
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
                cv2.fillConvexPoly(hi, quads[k], 255, cv2.LINE_8, _SHIFT)
        qc, rc = _fixed(q), np.round(r * _ONE).astype(np.int64)
        for k in range(len(qc)):
            cv2.circle(hi, (int(qc[k, 0]), int(qc[k, 1])), int(rc[k]), 255, -1, cv2.LINE_8, _SHIFT)
        cv2.polylines(centre, [_fixed(pl.points - origin)], False, 255, 1, cv2.LINE_8, _SHIFT)
    cov = cv2.resize(hi, (bw, bh), interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1.0 / 255.0)
    del hi
    local_mask = np.where((cov >= 0.5) | (centre > 0), np.uint8(255), np.uint8(0))
    # Shading: a dark core (depth varies along the crack) and a soft darker halo at the edges.
    var = np.clip(np.float32(1.0) + np.float32(0.2) * _noise(bh, bw, var_cell, rng), 0.55, 1.25)
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
    branches = _check_count("branches", branches)
    lines = _crack_geometry(start, float(direction_deg), float(length_px), float(width_px), branches, rng,
                            wmin=min(0.5, float(width_px)))
    _render_polylines(rgb, mask, lines, rng)
    return lines


# --------------------------------------------------------------------------------------------
# Patches


def _patch_crack(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """A crack that enters near one edge and crosses most of the patch."""
    size = rgb.shape[0]
    base = rgb.copy()
    for _attempt in range(8):
        rgb[...] = base
        mask[...] = 0
        side = int(rng.integers(4))
        inward = (0.0, 90.0, 180.0, 270.0)[side]  # from left, top, right, bottom edge
        along = rng.uniform(0.1, 0.9) * size
        out = rng.uniform(-0.1, 0.08) * size  # negative = starts outside the patch
        spread = 40.0
        if _attempt == 7:  # last try: straight at the middle, which always crosses it
            along, spread = 0.5 * size, 10.0
        start = [(out, along), (along, out), (size - 1 - out, along), (along, size - 1 - out)][side]
        direction = inward + rng.uniform(-spread, spread)
        length = rng.uniform(0.95, 1.5) * size
        draw_crack(rgb, mask, rng, start=start, direction_deg=direction, length_px=length)
        ys, xs = np.nonzero(mask)
        if len(xs) < 30 or max(xs.max() - xs.min(), ys.max() - ys.min()) + 1 < 0.6 * size:
            continue
        # It must also pass through the middle of the patch, not just hug an edge.
        lo, hi = 0.2 * size, 0.8 * size
        if np.any((xs >= lo) & (xs < hi) & (ys >= lo) & (ys < hi)):
            return
    logger.debug("patch crack kept after retries")


def make_patch(size: int = 227, crack: bool = True, kind: str = "concrete", seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """One square patch: (rgb (size, size, 3) uint8, mask (size, size) uint8, all 0 without a crack)."""
    size = _check_size("size", size)
    kind = _check_kind(kind)
    rng = np.random.default_rng(seed)
    ppm = rng.uniform(*_PATCH_PX_PER_MM[kind])
    rgb = _render_texture(size, size, kind, rng, ppm)
    _add_patch_distractors(rgb, rng, kind, ppm)
    mask = np.zeros((size, size), np.uint8)
    if crack:
        _patch_crack(rgb, mask, rng)
    return rgb, mask


def _patch_plan(n: int, seed: int, crack_fraction: float, kinds: Sequence[str]):
    """Per-patch (seed, label, kind), fixed by `seed`, so make_patches and the folder writers agree."""
    n = _check_count("n", n)
    if not (0.0 <= crack_fraction <= 1.0):
        raise ValueError(f"crack_fraction must be in [0, 1], got {crack_fraction!r}")
    kinds = _check_kinds(kinds)
    rng = np.random.default_rng(seed)
    n_pos = int(round(n * crack_fraction))
    labels = np.zeros(n, np.int64)
    labels[:n_pos] = 1
    rng.shuffle(labels)
    kind_idx = np.arange(n) % len(kinds)
    rng.shuffle(kind_idx)
    seeds = rng.integers(0, 2**62, size=n)
    return [(int(seeds[i]), int(labels[i]), kinds[int(kind_idx[i])]) for i in range(n)]


def _iter_patches(n, size, seed, crack_fraction, kinds) -> Iterator[Tuple[int, np.ndarray, np.ndarray, int]]:
    for i, (s, label, kind) in enumerate(_patch_plan(n, seed, crack_fraction, kinds)):
        rgb, mask = make_patch(size, bool(label), kind, s)
        yield i, rgb, mask, label


def make_patches(n: int, size: int = 227, seed: int = 0, crack_fraction: float = 0.5,
                 kinds=("concrete", "masonry")) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n patches: images (n, size, size, 3) uint8, masks (n, size, size) uint8, labels (n,) int64.

    Exactly round(n * crack_fraction) have a crack (label 1); kinds are split evenly.
    """
    size = _check_size("size", size)
    n = _check_count("n", n)
    images = np.zeros((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    labels = np.zeros(n, np.int64)
    for i, rgb, mask, label in _iter_patches(n, size, seed, crack_fraction, kinds):
        images[i], masks[i], labels[i] = rgb, mask, label
    return images, masks, labels


def _imwrite(path: Path, img: np.ndarray) -> None:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"could not write {path}")


def save_classification_folder(out_dir, n: int, size: int = 227, seed: int = 0, kinds=("concrete", "masonry")) -> dict:
    """Write n patches, half with cracks, as out_dir/Positive/*.png and out_dir/Negative/*.png."""
    size = _check_size("size", size)
    plan = _patch_plan(n, seed, 0.5, kinds)  # validates before anything is written
    out = Path(out_dir)
    counts = {"Positive": 0, "Negative": 0}
    for name in counts:
        (out / name).mkdir(parents=True, exist_ok=True)
    for i, (s, label, kind) in enumerate(plan):
        rgb, _ = make_patch(size, bool(label), kind, s)
        cls = "Positive" if label else "Negative"
        _imwrite(out / cls / f"syn_{seed}_{i:06d}_{kind}.png", rgb)
        counts[cls] += 1
    return counts


# Segmentation sets are mostly cracks; a few empty masks teach the model to predict nothing.
_SEG_CRACK_FRACTION = 0.85


def save_segmentation_folder(out_dir, n: int, size: int = 227, seed: int = 0, kinds=("concrete", "masonry")) -> int:
    """Write n patches as out_dir/images/NAME.png and out_dir/masks/NAME.png (single channel, 255 = crack)."""
    size = _check_size("size", size)
    plan = _patch_plan(n, seed, _SEG_CRACK_FRACTION, kinds)
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for i, (s, label, kind) in enumerate(plan):
        rgb, mask = make_patch(size, bool(label), kind, s)
        name = f"syn_{seed}_{i:06d}_{kind}.png"
        _imwrite(out / "images" / name, rgb)
        _imwrite(out / "masks" / name, mask)
    return len(plan)


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
    width_px = _check_size("width_px", width_px, 64)
    height_px = _check_size("height_px", height_px, 64)
    n_cracks = _check_count("n_cracks", n_cracks)
    kind = _check_kind(kind)
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
    rgb = _render_texture(height_px, width_px, kind, rng, ppm)
    _add_wall_distractors(rgb, rng, kind, ppm)
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
            lines = _crack_geometry(start, geo_rng.uniform(0, 360), trunk_len, wmax, nb, geo_rng, wmin=wlo)
            length = sum(_polyline_length(p.points) for p in lines)
            if not (lmin <= length <= lmax):
                continue
            box = _geometry_box(lines, 1.0)  # contains every pixel the mask can mark
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
        drawn = _render_polylines(rgb, mask, lines, geo_rng)
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
    _imwrite(out / "wall.png", wall.rgb)
    _imwrite(out / "wall_mask.png", wall.mask)
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


# --------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m edge.synthetic",
        description="Generate synthetic crack data: classification patches, segmentation pairs, or a wall.",
    )
    p.add_argument("what", choices=("patches", "segmentation", "wall"),
                   help="patches: DIR/Positive|Negative/*.png; segmentation: DIR/images + DIR/masks; "
                        "wall: DIR/wall.png, wall_mask.png, cracks.json")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--n", type=int, default=200, help="number of patches (patches, segmentation)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    p.add_argument("--size", type=int, default=227, help="patch size in px")
    p.add_argument("--kind", choices=KINDS + ("both",), default=None,
                   help="surface; patches default to both, a wall to concrete")
    p.add_argument("--width-px", type=int, default=6000, help="wall width in px")
    p.add_argument("--height-px", type=int, default=3000, help="wall height in px")
    p.add_argument("--cracks", type=int, default=8, help="number of cracks on the wall")
    p.add_argument("--mm-per-px", type=float, default=0.5, help="wall scale in mm per px")
    return p


def main(argv=None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0)
    try:
        if args.what == "wall":
            if args.kind == "both":
                raise ValueError("a wall is one surface: use --kind concrete or --kind masonry")
            wall = render_wall(args.width_px, args.height_px, args.cracks, args.kind or "concrete",
                               args.seed, args.mm_per_px)
            save_wall(wall, args.out)
            print(f"wrote a {args.width_px}x{args.height_px} {wall.kind} wall with {len(wall.cracks)} cracks to {args.out}")
            return 0
        kinds = KINDS if args.kind in (None, "both") else (args.kind,)
        if args.what == "patches":
            counts = save_classification_folder(args.out, args.n, args.size, args.seed, kinds)
            print(f"wrote {counts['Positive']} Positive and {counts['Negative']} Negative patches to {args.out}")
        else:
            n = save_segmentation_folder(args.out, args.n, args.size, args.seed, kinds)
            print(f"wrote {n} image/mask pairs to {args.out}")
        return 0
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
