"""Synthetic surfaces: concrete and masonry textures at a physical scale, numpy + OpenCV only.

Conventions of every sim module: images are uint8 RGB, masks uint8 with 255 = crack; (x, y) pixel
coordinates with pixel centres at integers; every function that draws takes a np.random.Generator or
a seed, and the same seed gives byte-identical output.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import cv2
import numpy as np

KINDS = ("concrete", "masonry")

# Fixed-point bits for OpenCV's sub-pixel drawing.
FIXED_SHIFT = 4
FIXED_ONE = 1 << FIXED_SHIFT

# Physical sizes (mm) that set the texture scale; patches pick a random px/mm per kind.
PATCH_PX_PER_MM = {"concrete": (1.2, 3.0), "masonry": (0.55, 1.5)}
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

# --------------------------------------------------------------------------------------------
# Argument checks


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def check_kinds(kinds: Sequence[str]) -> Tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds must name at least one of concrete, masonry")
    for k in kinds:
        check_kind(k)
    return kinds


def check_size(name: str, value: int, minimum: int = 16) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Noise helpers (all float32, vectorised; big fields are made small and upsampled)


def noise(h: int, w: int, cell: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth value noise with features about `cell` px across, roughly unit variance."""
    return NoiseRows(h, w, cell, rng).rows(0, h)


# Interpolating white noise shrinks its variance; this brings it back near 1.
_RESTORE_VARIANCE = np.float32(1.45)


class NoiseRows:
    """noise() made a band of rows at a time where that saves memory: the random draws are made here, in
    noise()'s order, and rows(top, bottom) gives those rows of the very same field. A coarse field's rows
    come from its quarter-resolution grid alone (a whole-wall field is 72 MB)."""

    def __init__(self, h: int, w: int, cell: float, rng: np.random.Generator):
        self.h, self.w = h, w
        self.small = self.full = None
        if cell <= 1.0:  # white noise: unit variance already
            self.full = rng.standard_normal((h, w), dtype=np.float32)
            return
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
            self.small = big[oy : oy + hq, ox : ox + wq]
        else:
            # Fine grain looks the same with linear interpolation, which is about twice as fast.
            interp = cv2.INTER_CUBIC if cell > 5 else cv2.INTER_LINEAR
            big = cv2.resize(grid, (int(round(gw * cell)), int(round(gh * cell))), interpolation=interp)
            oy = int(rng.integers(0, max(1, int(cell)))) + int(round(cell))
            ox = int(rng.integers(0, max(1, int(cell)))) + int(round(cell))
            self.full = big[oy : oy + h, ox : ox + w]
        if self.full is not None:
            # In place: a whole wall's field is 72 MB, and every copy of one counts against the simulator's
            # memory. The crop is a view into the interpolated field: scaled where it lies, never copied.
            self.full *= _RESTORE_VARIANCE

    def rows(self, top: int, bottom: int) -> np.ndarray:
        """Rows top..bottom of the field: a view into it where it is whole, else new."""
        bottom = min(bottom, self.h)
        if self.small is None:
            return self.full[top:bottom]
        # The linear 4x upsampling reads source rows next to the ones under these rows: cut the source one row
        # wider on each side (its own border, where there is one), upsample, keep these rows.
        hq, wq = self.small.shape
        s0, s1 = max(0, top // 4 - 1), min(hq, -(-bottom // 4) + 1)
        block = cv2.resize(self.small[s0:s1], (wq * 4, (s1 - s0) * 4), interpolation=cv2.INTER_LINEAR)
        out = block[top - 4 * s0 : bottom - 4 * s0, : self.w]
        out *= _RESTORE_VARIANCE
        return out


def smoothstep(x: np.ndarray, lo: float, hi: float, overwrite: bool = False) -> np.ndarray:
    """3t^2 - 2t^3 of t = (x - lo) / (hi - lo) clipped to 0..1; overwrite: x is used for the work (and lost).
    Worked a band of rows at a time: the only temporary is a band's, not another whole field."""
    t = x if overwrite else x.copy()
    for top in range(0, max(1, len(t)), _BAND_ROWS):
        band = t[top : top + _BAND_ROWS]
        band -= np.float32(lo)
        band *= np.float32(1.0 / (hi - lo))
        np.clip(band, 0.0, 1.0, out=band)
        square = band * band
        band *= np.float32(-2.0)
        band += np.float32(3.0)  # 3 - 2t
        square *= band
        band[...] = square
    return t


def _illuminate(img: np.ndarray, rng: np.random.Generator, strength: float) -> None:
    """Multiply img (h, w) in place by a gentle light gradient plus a soft vignette, a field near 1 made a band
    of rows at a time (the whole field would be another array the size of the wall)."""
    h, w = img.shape[:2]
    ang = rng.uniform(0, 2 * math.pi)
    gx, gy = math.cos(ang), math.sin(ang)
    amp = rng.uniform(0.3, 1.0) * strength
    vig = np.float32(rng.uniform(0.0, 0.5) * strength)
    ys_all = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    xs = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
    for top in range(0, h, _BAND_ROWS):
        ys = ys_all[top : top + _BAND_ROWS]
        field = xs * np.float32(gx) + ys * np.float32(gy)
        field *= np.float32(amp)
        field += np.float32(1.0)
        radius = xs * xs + ys * ys
        radius *= vig
        field -= radius
        img[top : top + _BAND_ROWS] *= field


def to_uint8(x: np.ndarray) -> np.ndarray:
    y = x * np.float32(255.0)
    y += np.float32(0.5)
    np.clip(y, 0, 255, out=y)
    return y.astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Textures


_BAND_ROWS = 256


def _add_flecks(lum: np.ndarray, field: np.ndarray, ragged: np.ndarray, light: bool, scale: np.float32,
                edges) -> None:
    """lum += scale * smoothstep(field +- ragged, *edges) (+ for light flecks, - for dark), a band of rows at a
    time: no whole-wall temporaries."""
    for top in range(0, lum.shape[0], _BAND_ROWS):
        rows = slice(top, top + _BAND_ROWS)
        band = field[rows] + ragged[rows] if light else field[rows] - ragged[rows]
        flecks = smoothstep(band, *edges, overwrite=True)
        if scale < 0:
            flecks *= -scale
            lum[rows] -= flecks
        else:
            flecks *= scale
            lum[rows] += flecks


def _add_scaled(total: np.ndarray, scale: np.float32, make_field) -> None:
    """total += scale * field, with the field made after `scale` was drawn (the order of the random draws)
    and scaled in place: no third array the size of the wall. A negative scale subtracts."""
    field = make_field()  # a fresh array, or one the caller drops next: scaled where it lies
    if scale < 0:
        field *= -scale
        total -= field
    else:
        field *= scale
        total += field


def _concrete(h: int, w: int, rng: np.random.Generator, ppm: float) -> np.ndarray:
    base = rng.uniform(0.50, 0.72)
    lum = np.full((h, w), base, np.float32)
    # Multi-scale mottling: faint cloudy areas down to sand grain.
    # (Fields are scaled in place and the random draws keep their order: the same seed, the same wall.)
    for cell_mm, amp in ((150.0, 0.015), (40.0, 0.011), (8.0, 0.012), (2.0, 0.018)):
        _add_scaled(lum, np.float32(amp * rng.uniform(0.6, 1.4)), lambda: noise(h, w, cell_mm * ppm, rng))
    _add_scaled(lum, np.float32(rng.uniform(0.018, 0.035)), lambda: rng.standard_normal((h, w), dtype=np.float32))
    # Aggregate and sand: ragged flecks (two scales mixed), some lighter, some darker than the paste.
    agg_cell = rng.uniform(1.5, 3.5) * ppm
    ragged = noise(h, w, max(1.0, agg_cell * 0.35), rng)
    ragged *= np.float32(0.6)
    # Kept in half precision: beside the wall's luminance and the next field it was the third whole-wall
    # float array, the render's peak (tracemalloc, render_wall(6000, 3000, 8, "concrete", 7): 237 -> 200 MB);
    # it changes 0.06 % of that wall's pixels, by one grey level.
    ragged = ragged.astype(np.float16)
    field = noise(h, w, agg_cell, rng)
    _add_flecks(lum, field, ragged, True, np.float32(rng.uniform(0.03, 0.07)), (1.5, 2.3))
    del field  # before the next field is made, not after
    field = noise(h, w, agg_cell * 0.7, rng)
    _add_flecks(lum, field, ragged, False, -np.float32(rng.uniform(0.03, 0.07)), (1.7, 2.5))
    del field, ragged
    # Bug holes (small pores): dark pits, a few bigger than the rest.
    n_pores = rng.poisson(h * w / (ppm * ppm) / 1500.0 * rng.uniform(0.2, 1.5))
    if n_pores:
        pores = np.zeros((h, w), np.uint8)
        xs = rng.uniform(0, w, n_pores)
        ys = rng.uniform(0, h, n_pores)
        rs = np.maximum(0.6, rng.gamma(1.5, 0.6, n_pores) * ppm)
        for x, y, r in zip(xs, ys, rs):
            cv2.circle(
                pores, (int(x * FIXED_ONE), int(y * FIXED_ONE)), int(r * FIXED_ONE), 255, -1, cv2.LINE_AA, FIXED_SHIFT
            )
        pores = cv2.GaussianBlur(pores, (0, 0), 0.6)
        _add_scaled(lum, -np.float32(rng.uniform(0.15, 0.3) / 255.0), lambda: pores.astype(np.float32))
        del pores
    # Large faint stains (water, curing marks).
    if rng.random() < 0.6:
        st = smoothstep(noise(h, w, 60.0 * ppm, rng), 0.6, 1.8, overwrite=True)
        st *= np.float32(rng.uniform(0.015, 0.045))
        lum -= st
        del st
    _illuminate(lum, rng, 0.18)
    # Concrete is near-neutral grey, from slightly cool to slightly warm (sandy).
    tint = np.float32(1.0 + rng.normal(0, 0.004)) + np.float32(rng.uniform(-0.01, 0.045)) * np.array(
        [1.0, 0.3, -0.9], np.float32)
    out = np.empty((h, w, 3), np.uint8)
    chroma = NoiseRows(h, w, 80.0 * ppm, rng)
    for top in range(0, h, _BAND_ROWS):  # a band of rows at a time: the colour work needs no whole-wall copies
        rows = slice(top, top + _BAND_ROWS)
        band = chroma.rows(top, top + _BAND_ROWS)
        band *= np.float32(0.006)
        for c in range(3):
            channel = band * np.float32((1.0, 0.0, -1.0)[c])
            channel += tint[c]
            channel *= lum[rows]
            out[rows, :, c] = to_uint8(channel)
    return out


def _masonry(h: int, w: int, rng: np.random.Generator, ppm: float) -> np.ndarray:
    course = (_BRICK_MM[1] + _JOINT_MM) * ppm * rng.uniform(0.92, 1.08)
    joint = max(2.0, _JOINT_MM * ppm * rng.uniform(0.8, 1.25))
    brick_len = (_BRICK_MM[0] + _JOINT_MM) * ppm * rng.uniform(0.95, 1.05)
    # Hand-laid courses wander a little: warp the coordinates with low-frequency noise.
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    wob = np.float32(joint * 0.1)
    yw = ys + wob * noise(h, w, course * 3.0, rng) + np.float32(rng.uniform(0, course))
    row = np.floor(yw / np.float32(course)).astype(np.int32)
    fy = yw - row.astype(np.float32) * np.float32(course)
    n_rows = int(row.max()) + 2
    row_off = (np.arange(n_rows) % 2) * brick_len * 0.5 + rng.normal(0, brick_len * 0.04, n_rows)
    row_off += rng.uniform(0, brick_len)
    xw = xs + row_off.astype(np.float32)[row] + wob * noise(h, w, course * 3.0, rng)
    col = np.floor(xw / np.float32(brick_len)).astype(np.int32)
    fx = xw - col.astype(np.float32) * np.float32(brick_len)
    del xw, yw
    n_cols = int(col.max()) + 2
    bid = row * np.int32(n_cols) + col
    n_b = n_rows * n_cols
    # Mortar: the band at the top of each course and at the start of each brick, soft-edged.
    j = np.float32(joint)
    # Chipped arrises: the brick/mortar boundary is ragged at the scale of a few mm.
    rough = np.float32(joint * rng.uniform(0.04, 0.1)) * noise(h, w, max(2.0, 4.0 * ppm), rng)
    m_y = smoothstep(j - fy + rough, -0.7, 0.7)
    m_x = smoothstep(j - fx - rough, -0.7, 0.7)
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
    blum = np.float32(1.0) + np.float32(0.06) * noise(h, w, 12.0 * ppm, rng)
    blum += np.float32(0.05) * noise(h, w, 2.5 * ppm, rng)
    blum += np.float32(0.04) * rng.standard_normal((h, w), dtype=np.float32)
    blum -= np.float32(0.15) * smoothstep(noise(h, w, 3.0 * ppm, rng), 1.5, 2.2)
    blum += grad[bid] * (fx / np.float32(brick_len) - np.float32(0.5))
    edge_d = np.minimum(fy - j, fx - j)
    blum -= np.float32(0.10) * (np.float32(1.0) - smoothstep(edge_d, 0.0, 2.5 * ppm + 1.0))
    # Mortar surface: sandy grey; recessed, so shadowed just under the brick above.
    mortar_base = rng.uniform(0.45, 0.72)
    mlum = np.float32(mortar_base) + np.float32(0.05) * noise(h, w, 1.5 * ppm, rng)
    mlum += np.float32(0.03) * rng.standard_normal((h, w), dtype=np.float32)
    recess = np.float32(rng.uniform(0.15, 0.45))
    mlum *= np.float32(1.0) - recess * (np.float32(1.0) - smoothstep(fy, 0.0, float(j) * 0.7))
    mcol = np.array([1.0, 0.97, 0.92], np.float32) + rng.normal(0, 0.015, 3).astype(np.float32)
    # Dirt, efflorescence and light over the whole wall.
    glob = np.float32(1.0) + np.float32(0.05) * noise(h, w, 150.0 * ppm, rng)
    _illuminate(glob, rng, 0.18)
    if rng.random() < 0.4:
        glob -= np.float32(rng.uniform(0.04, 0.12)) * smoothstep(noise(h, w, 80.0 * ppm, rng), 0.6, 1.8)
    out = np.empty((h, w, 3), np.uint8)
    brick_l = blum * glob
    mort_l = mlum * glob
    inv = np.float32(1.0) - mortar
    for c in range(3):
        out[..., c] = to_uint8(inv * brick_l * colours[:, c][bid] + mortar * mort_l * mcol[c])
    return out


def texture_at_scale(h: int, w: int, kind: str, rng: np.random.Generator, ppm: float) -> np.ndarray:
    if kind == "concrete":
        return _concrete(h, w, rng, ppm)
    return _masonry(h, w, rng, ppm)


def render_texture(height: int, width: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A crack-free concrete or masonry surface, (height, width, 3) uint8 RGB.

    The scale (px per mm) is drawn from `rng` within the range used for training patches.
    """
    height = check_size("height", height, 1)
    width = check_size("width", width, 1)
    kind = check_kind(kind)
    ppm = rng.uniform(*PATCH_PX_PER_MM[kind])
    return texture_at_scale(height, width, kind, rng, ppm)


