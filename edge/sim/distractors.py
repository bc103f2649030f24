"""Distractors: dark or linear things that are not cracks (stains, spots, shadows, formwork lines,
tie holes, scratches), drawn on positives and negatives alike."""
from __future__ import annotations

import math

import cv2
import numpy as np

from edge.sim.textures import FIXED_ONE, FIXED_SHIFT, noise, smoothstep, to_uint8

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
    rgb[y0:y1, x0:x1] = to_uint8(f)


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
    d = np.sqrt(xx * xx + yy * yy) + np.float32(0.2) * noise(y1 - y0, x1 - x0, max(2.0, r / 2.5), rng)
    d += np.float32(0.06) * noise(y1 - y0, x1 - x0, max(1.5, r / 10), rng)
    alpha = (np.float32(1.0) - smoothstep(d, rng.uniform(0.1, 0.6), 1.0)) * np.float32(rng.uniform(0.25, 0.7))
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
        cv2.circle(
            layer, (int(px * FIXED_ONE), int(py * FIXED_ONE)), int(rad * FIXED_ONE), 255, -1, cv2.LINE_AA, FIXED_SHIFT
        )
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
    alpha = smoothstep(d, -soft, soft) * np.float32(rng.uniform(0.12, 0.35))
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
        a = (p0 - o + s * np.array([nxv, nyv])) * FIXED_ONE
        b = (p1 - o + s * np.array([nxv, nyv])) * FIXED_ONE
        a = np.clip(a, -(2**28), 2**28)
        b = np.clip(b, -(2**28), 2**28)
        cv2.line(
            layer,
            (int(a[0]), int(a[1])),
            (int(b[0]), int(b[1])),
            255,
            max(1, int(round(ppm * 0.8))),
            cv2.LINE_AA,
            FIXED_SHIFT,
        )
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
    inner = np.float32(1.0) - smoothstep(d, 0.85, 1.0)
    ring = (smoothstep(d, 0.9, 1.05) - smoothstep(d, 1.15, 1.5)) * np.float32(0.5)
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
        a = (int((px - math.cos(ang) * ln / 2) * FIXED_ONE), int((py - math.sin(ang) * ln / 2) * FIXED_ONE))
        b = (int((px + math.cos(ang) * ln / 2) * FIXED_ONE), int((py + math.sin(ang) * ln / 2) * FIXED_ONE))
        cv2.line(layer, a, b, 255, 1, cv2.LINE_AA, FIXED_SHIFT)
    alpha = layer.astype(np.float32) * np.float32(rng.uniform(0.15, 0.4) / 255.0)
    _blend(rgb, (0, 0, w, h), alpha, lambda f: np.minimum(f * np.float32(1.4) + np.float32(0.08), 1.0))


def add_patch_distractors(rgb: np.ndarray, rng: np.random.Generator, kind: str, ppm: float) -> None:
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


def add_wall_distractors(rgb: np.ndarray, rng: np.random.Generator, kind: str, ppm: float) -> None:
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


