"""The reference measurement of a true crack mask: what the photo check scores the runtime against.

Written for this purpose and kept apart from edge/frame/measure.py, so that the runtime's rules can be
checked against it rather than against themselves. Plain rules, one library skeleton:
- centreline: scikit-image's skeleton of each connected component, with spurs pruned (a branch
  from a free end to a junction that is shorter than the crack's width there is the trace of a
  ragged edge, not a branch);
- width at a centreline pixel: twice the distance to the mask's edge (the nearest background
  pixel centre lies half a pixel beyond the edge), leaving out the disc inscribed at each
  junction, where two branches' union is wider than either;
- length: the centreline's 8-connected length, plus the half width at each free end (the
  skeleton stops that far short of the tip).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List

import cv2
import numpy as np

from edge.errors import DataError

MIN_AREA_PX = 20  # smaller labelled specks are not cracks to measure


@dataclass(frozen=True)
class RefCrack:
    length_px: float
    width_max_px: float
    width_mean_px: float
    width_p95_px: float
    area_px: int


def _skeletonize(mask: np.ndarray) -> np.ndarray:
    try:
        from skimage.morphology import skeletonize
    except ImportError:  # the check extra installs it; the robot never needs it
        raise DataError(
            "the photo check's reference measurement needs scikit-image: pip install 'crackbot[check]'"
        ) from None
    return skeletonize(mask.astype(bool))


def _neighbour_count(skel: np.ndarray) -> np.ndarray:
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    return cv2.filter2D(skel.astype(np.uint8), cv2.CV_16S, kernel, borderType=cv2.BORDER_CONSTANT)


def _neighbours(skel: np.ndarray, y: int, x: int):
    h, w = skel.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            yy, xx = y + dy, x + dx
            if (dy or dx) and 0 <= yy < h and 0 <= xx < w and skel[yy, xx]:
                yield yy, xx


def prune_spurs(skel: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Remove, repeatedly, each branch from a free end to a junction that is shorter than the width
    at that junction."""
    skel = skel.copy()
    for _ in range(50):  # each round removes the outermost spurs; real masks settle in a few
        count = _neighbour_count(skel)
        removed = False
        for y, x in zip(*np.nonzero(skel & (count == 1))):
            path, prev, cur, length = [(y, x)], None, (y, x), 0.0
            seen = {cur}
            while True:
                nxt = [p for p in _neighbours(skel, *cur) if p not in seen]
                if len(nxt) != 1 or count[nxt[0]] >= 3:
                    junction = nxt[0] if len(nxt) == 1 else None
                    break
                prev, cur = cur, nxt[0]
                length += math.hypot(cur[0] - prev[0], cur[1] - prev[1])
                path.append(cur)
                seen.add(cur)
            if junction is None or len(nxt) != 1:
                continue  # a free-standing line (no junction): not a spur
            if length + 1.0 < width[junction]:
                for p in path:
                    skel[p] = False
                removed = True
        if not removed:
            break
    return skel


def skeleton_length(skel: np.ndarray) -> float:
    """Orthogonal steps count 1, diagonal steps sqrt(2); a diagonal step that an L of two orthogonal
    steps already joins is not counted twice."""
    s = np.pad(skel.astype(bool), 1)
    c = s[1:-1, 1:-1]
    right, down, left = s[1:-1, 2:], s[2:, 1:-1], s[1:-1, :-2]
    ortho = np.count_nonzero(c & right) + np.count_nonzero(c & down)
    diag = np.count_nonzero(c & s[2:, 2:] & ~right & ~down) + np.count_nonzero(c & s[2:, :-2] & ~left & ~down)
    return float(ortho + math.sqrt(2.0) * diag)


def measure_reference(component: np.ndarray) -> RefCrack:
    """One connected crack (bool mask) measured by the reference rules."""
    comp = np.pad(component.astype(bool), 1)
    dist = cv2.distanceTransform(comp.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    width = np.maximum(2.0 * dist - 1.0, 1.0)
    skel = _skeletonize(comp)
    if not skel.any():
        skel = comp & (dist == dist.max())
    skel = prune_spurs(skel, width)
    count = _neighbour_count(skel)
    ends = np.nonzero(skel & (count <= 1))
    length = skeleton_length(skel) + float(sum(dist[y, x] for y, x in zip(*ends)))
    if np.count_nonzero(skel) == 1:
        length = max(length, float(2 * dist[skel].max()))
    junction_disc = np.zeros(comp.shape, np.uint8)
    for y, x in zip(*np.nonzero(skel & (count >= 3))):
        cv2.circle(junction_disc, (int(x), int(y)), int(math.ceil(dist[y, x])), 1, -1)
    along = skel & ~junction_disc.astype(bool)
    if not along.any():
        along = skel
    w = width[along]
    return RefCrack(length_px=length, width_max_px=float(w.max()), width_mean_px=float(w.mean()),
                    width_p95_px=float(np.percentile(w, 95)), area_px=int(component.sum()))


def measure_mask(mask: np.ndarray, min_area_px: int = MIN_AREA_PX) -> List[RefCrack]:
    """Every 8-connected crack of a true mask of at least min_area_px pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(np.asarray(mask).astype(np.uint8), connectivity=8)
    out = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area >= min_area_px:
            out.append(measure_reference(labels[y : y + h, x : x + w] == label))
    return out
