"""Skeletons of crack masks: thinning to a one-pixel, 8-connected centreline, its length, and its spurs
pruned. Pure numpy + OpenCV (no contrib build, no scikit-image), so it runs on any device venv."""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import cv2
import numpy as np


# Zhang-Suen neighbour order: P2 (north) clockwise to P9 (north-west).
_OFFSETS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]


def _neighbours(img: np.ndarray) -> List[np.ndarray]:
    p = np.pad(img, 1)
    h, w = img.shape
    return [p[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in _OFFSETS]


def skeletonize(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide 8-connected skeleton, as a bool array.

    Zhang-Suen thinning with Lü and Wang's change (a pixel needs three neighbours, not two, to go),
    which keeps two-pixel-thick diagonal lines that plain Zhang-Suen erases entirely.
    """
    img = (np.asarray(mask) > 0).astype(np.uint8)
    if not img.any():
        return img.astype(bool)
    tables = _zhang_suen_tables()
    while True:
        changed = False
        for step in (0, 1):
            remove = (img == 1) & tables[step][_neighbour_code(img)]
            if remove.any():
                img[remove] = 0
                changed = True
        if not changed:
            break
    return _thin_to_8(img.astype(bool))


def _zhang_suen_tables() -> np.ndarray:
    """(2, 256): may a pixel with this neighbourhood (bit i = neighbour i of _OFFSETS) go in sub-step
    0 / 1? The per-pixel rule, evaluated once for every neighbourhood so a pass is one table lookup."""
    global _ZHANG_SUEN
    if _ZHANG_SUEN is None:
        _ZHANG_SUEN = np.zeros((2, 256), bool)
        for code in range(256):
            n = [code >> i & 1 for i in range(8)]
            count = sum(n)
            # Transitions 0 -> 1 going round the eight neighbours: exactly one keeps the pixel a line end or a bridge.
            transitions = sum(1 for i in range(8) if n[i] == 0 and n[(i + 1) % 8] == 1)
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if 3 <= count <= 6 and transitions == 1:
                _ZHANG_SUEN[0, code] = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
                _ZHANG_SUEN[1, code] = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return _ZHANG_SUEN


_ZHANG_SUEN = None


def _removable_table() -> np.ndarray:
    """For each of the 256 neighbourhoods (bit i = neighbour i of _OFFSETS): may the centre go without
    changing the shape? Yes when its neighbours are one 8-connected group of three or more, or
    exactly two orthogonal ones (the corner of an L step). Two neighbours that are not both
    orthogonal make a line's end, which must stay, or the line would erode from its tips."""
    table = np.zeros(256, bool)
    for code in range(256):
        on = [_OFFSETS[i] for i in range(8) if code >> i & 1]
        if len(on) < 2 or (len(on) == 2 and any(dy and dx for dy, dx in on)):
            continue
        seen, todo = {on[0]}, [on[0]]
        while todo:
            y, x = todo.pop()
            for p in on:
                if p not in seen and max(abs(p[0] - y), abs(p[1] - x)) == 1:
                    seen.add(p)
                    todo.append(p)
        table[code] = len(seen) == len(on)
    return table


_REMOVABLE = None


# Bit i of a pixel's neighbourhood code is neighbour i of _OFFSETS: one 3x3 correlation makes every code.
_CODE_KERNEL = np.zeros((3, 3), np.float32)
for _i, (_dy, _dx) in enumerate(_OFFSETS):
    _CODE_KERNEL[_dy + 1, _dx + 1] = 1 << _i


def _neighbour_code(img: np.ndarray) -> np.ndarray:
    return cv2.filter2D(img.astype(np.uint8), cv2.CV_16S, _CODE_KERNEL, borderType=cv2.BORDER_CONSTANT)


def _thin_to_8(skel: np.ndarray) -> np.ndarray:
    """Remove the pixels a thinned line can lose and stay connected (L corners of staircases, 2x2
    blocks), so diagonal runs are diagonal links of sqrt(2), not pairs of orthogonal ones."""
    global _REMOVABLE
    if _REMOVABLE is None:
        _REMOVABLE = _removable_table()
    skel = skel.copy()
    while True:
        removed = False
        # A removal changes its neighbours' verdict, so pixels go in four interleaved sub-grids: no two
        # pixels of one sub-grid are neighbours, so each sub-grid can go at once.
        for py, px in ((0, 0), (0, 1), (1, 0), (1, 1)):
            sub = skel[py::2, px::2]
            remove = sub & _REMOVABLE[_neighbour_code(skel)][py::2, px::2]
            if remove.any():
                sub[remove] = False
                removed = True
        if not removed:
            return skel


def skeleton_length(skel: np.ndarray) -> float:
    """Length of an 8-connected skeleton in pixels: orthogonal links count 1, diagonal links sqrt(2).

    A diagonal link is skipped where an orthogonal path of two links already joins the same pixels
    (an L corner), so no step is counted twice.
    """
    s = np.pad(np.asarray(skel, bool), 1)
    c = s[1:-1, 1:-1]
    right, down = s[1:-1, 2:], s[2:, 1:-1]
    down_right, down_left = s[2:, 2:], s[2:, :-2]
    left = s[1:-1, :-2]
    ortho = np.count_nonzero(c & right) + np.count_nonzero(c & down)
    diag_dr = c & down_right & ~right & ~down
    diag_dl = c & down_left & ~left & ~down
    return float(ortho + math.sqrt(2.0) * (np.count_nonzero(diag_dr) + np.count_nonzero(diag_dl)))


def prune_spurs(skel: np.ndarray, dist: np.ndarray, joints: Optional[list] = None) -> np.ndarray:
    """The skeleton without its spurs: a branch from a free end to a junction that is shorter than the
    crack is wide there is the trace of a bump in a ragged edge, not a branch of the crack. Repeated
    until none is left (a pruned spur can leave its neighbour a spur of its own). `joints`, when given,
    collects the junction each pruned spur left from."""
    skel = skel.copy()
    longest = 2.0 * float(dist.max())  # no spur is longer than the widest width
    while True:
        count = neighbour_total(skel)
        pruned = False
        for y, x in zip(*np.nonzero(skel & (count == 1))):
            path = _walk_to_junction(skel, count, (int(y), int(x)), longest)
            if path is None:
                continue
            trail, (jy, jx), length = path
            if length < 2.0 * float(dist[jy, jx]) - 1.0:
                for p in trail:
                    skel[p] = False
                if joints is not None:
                    joints.append((jy, jx))
                pruned = True
        if not pruned:
            return skel


def neighbour_total(skel: np.ndarray) -> np.ndarray:
    return sum(x.astype(np.uint8) for x in _neighbours(skel.astype(np.uint8)))


def _walk_to_junction(skel, count, start, limit):
    """(pixels from the free end `start` up to the junction, the junction, length), or None when the
    line ends first or runs longer than `limit`."""
    h, w = skel.shape
    trail, seen, cur, length = [start], {start}, start, 0.0
    while length <= limit:
        nxt = [(cur[0] + dy, cur[1] + dx) for dy, dx in _OFFSETS
               if 0 <= cur[0] + dy < h and 0 <= cur[1] + dx < w and skel[cur[0] + dy, cur[1] + dx]
               and (cur[0] + dy, cur[1] + dx) not in seen]
        if len(nxt) != 1:
            return None  # the line's other end (or a fork at the start: not a spur)
        step = nxt[0]
        length += math.hypot(step[0] - cur[0], step[1] - cur[1])
        if count[step] >= 3:
            return trail, step, length
        trail.append(step)
        seen.add(step)
        cur = step
    return None


def endpoints(skel: np.ndarray) -> List[Tuple[int, int]]:
    n = neighbour_total(skel)
    ys, xs = np.nonzero(skel & (n == 1))
    return list(zip(ys.tolist(), xs.tolist()))
