"""Crack measurement on a binary mask: length along the skeleton, full width, orientation, box.

Pure numpy + OpenCV (no contrib build, no scikit-image), so it runs on any device venv.
Lengths count 1 for each horizontal/vertical skeleton step and sqrt(2) for each diagonal one;
widths are the full width across the crack from the Euclidean distance transform along the
skeleton (see local_widths), not the half width the transform gives directly.

A mask is bool (every pixel sure) or uint8 levels: FAINT pixels (a segmenter's hysteresis: less
likely, but joined to sure ones) add to a crack's extent and length, its SURE pixels alone give
the widths, so a faint rim never widens a crack.
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
import numpy as np

from edge.frame.components import components
from edge.frame.skeleton import endpoints, neighbour_total, prune_spurs, skeletonize, skeleton_length

BELOW_RESOLUTION_PX = 2.0  # narrower than this, a width in pixels is a guess, not a measurement
FAINT, SURE = 1, 2  # uint8 mask levels (see the module note)


@dataclass(frozen=True)
class Measurement:
    """One connected crack in a mask; lengths and widths in mm (in px when no scale is given)."""

    bbox_px: Tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in mask pixels
    area_px: int
    length_mm: float
    width_max_mm: float
    width_mean_mm: float
    width_p95_mm: float
    orientation_deg: float  # main direction, -90..90; 0 = along +x, positive turns towards +y (image down)
    below_resolution: bool  # the widest part is under BELOW_RESOLUTION_PX pixels: widths are upper bounds
    skeleton_px: int


def orientation_deg(ys: np.ndarray, xs: np.ndarray) -> float:
    """Main direction of a set of pixels (principal axis), in -90..90 degrees."""
    if len(xs) < 2:
        return 0.0
    x = xs - xs.mean()
    y = ys - ys.mean()
    cxx, cyy, cxy = float((x * x).mean()), float((y * y).mean()), float((x * y).mean())
    angle = 0.5 * math.degrees(math.atan2(2 * cxy, cxx - cyy))
    return 90.0 if angle <= -90.0 else angle


def as_levels(mask: np.ndarray) -> np.ndarray:
    """uint8 levels of a mask: a bool mask is SURE wherever it is set; levels pass unchanged."""
    mask = np.asarray(mask)
    return mask.astype(np.uint8) * SURE if mask.dtype == bool else mask.astype(np.uint8, copy=False)


def sure_pixels(levels: np.ndarray) -> np.ndarray:
    """The pixels that give widths: the SURE ones of a levels mask, or every pixel of a mask that has
    none (a bool mask, a 0/1 mask, or a crack only faintly seen)."""
    levels = np.asarray(levels)
    if levels.dtype != bool:
        sure = levels >= SURE
        if sure.any():
            return sure
    return levels > 0


def distance_to_edge(crop: np.ndarray) -> np.ndarray:
    """Each mask pixel's Euclidean distance to the nearest background pixel centre."""
    padded = np.pad(crop, 1).astype(np.uint8)  # the background around the crack must exist for the transform
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


_SKELETONS: "OrderedDict[tuple, tuple]" = OrderedDict()  # the last few masks' (skeleton, distance, joints)
_SKELETONS_BYTES = 8 << 20  # what they may hold in all: a long crack on the wall is a large mask
_skeletons_lock = threading.Lock()


def skeleton_and_distance(crop: np.ndarray, joints: Optional[list] = None):
    """(the mask's skeleton with its spurs pruned, distance_to_edge): what lengths and widths are read from.
    `joints` collects where each pruned spur met the line. Both arrays are read-only: a crack is measured,
    then traced for its event (edge/frame/trace.py) from the same mask, and thinning is the costly part, so
    the last few masks' skeletons are kept (by content) and handed out again."""
    crop = np.asarray(crop) > 0
    key = (crop.shape, hashlib.blake2b(np.packbits(crop).tobytes(), digest_size=16).digest())
    with _skeletons_lock:
        kept = _SKELETONS.get(key)
        if kept is not None:
            _SKELETONS.move_to_end(key)
    if kept is None:
        dist = distance_to_edge(crop)
        skel = skeletonize(crop)
        if not skel.any():  # a blob thinned to nothing cannot happen, but never divide by zero
            skel = crop.copy()
        found: list = []
        skel = prune_spurs(skel, dist, found)
        skel.setflags(write=False)
        dist.setflags(write=False)
        kept = (skel, dist, found)
        with _skeletons_lock:
            _SKELETONS[key] = kept
            while sum(k[0].nbytes + k[1].nbytes for k in _SKELETONS.values()) > _SKELETONS_BYTES:
                _SKELETONS.popitem(last=False)  # the oldest first, this one too if it alone is over
    if joints is not None:
        joints.extend(kept[2])
    return kept[0], kept[1]


def measure_component(component: np.ndarray, mm_per_px: float = 1.0, offset: Tuple[int, int] = (0, 0),
                      width_window_px: int = 1) -> Optional[Measurement]:
    """Measure one connected crack given as a bool mask or uint8 levels; None if it is empty.
    width_window_px: see local_widths."""
    levels = np.asarray(component)
    ys, xs = np.nonzero(levels)
    if len(xs) == 0:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = levels[y0:y1, x0:x1] > 0
    joints: list = []  # where pruned spurs met the line: bulges of the mask, left out of the widths like junctions
    skel, dist = skeleton_and_distance(crop, joints)
    length_px = skeleton_length(skel)
    # A skeleton stops half a width short of each tip; add it back at every free end.
    length_px += float(sum(max(0.0, dist[y, x] - 0.5) for y, x in endpoints(skel)))
    sure = sure_pixels(levels[y0:y1, x0:x1])
    if not np.array_equal(sure, crop):  # faint pixels: the widths come from the sure ones alone
        joints = []
        skel, dist = skeleton_and_distance(sure, joints)
    widths_px = local_widths(skel, dist, width_window_px)
    sy, sx = np.nonzero(skel)
    # Where branches meet, the mask is the union of two cracks and is wider than either: leave the
    # junctions out of the width figures (unless nothing else is left).
    away = ~_near_junctions(skel, dist, joints)[sy, sx]
    if away.any():
        widths_px = widths_px[away]
    wmax = float(widths_px.max())
    return Measurement(
        bbox_px=(int(x0 + offset[0]), int(y0 + offset[1]), int(x1 + offset[0]), int(y1 + offset[1])),
        area_px=int(len(xs)),
        length_mm=length_px * mm_per_px,
        width_max_mm=wmax * mm_per_px,
        width_mean_mm=float(widths_px.mean()) * mm_per_px,
        width_p95_mm=float(np.percentile(widths_px, 95)) * mm_per_px,
        orientation_deg=orientation_deg(sy.astype(float), sx.astype(float)),
        below_resolution=bool(wmax < BELOW_RESOLUTION_PX),
        skeleton_px=int(len(sx)),
    )


def local_widths(skel: np.ndarray, dist: np.ndarray, window_px: int = 1, at=None) -> np.ndarray:
    """Full width at each skeleton pixel (in np.nonzero order), from the distance transform; `at`: only
    at these skeleton pixels (ys, xs), each pixel's own width (window_px 1).

    Across the crack the distance transform is a tent of slope 1 whose peak p lies on the true
    centreline, which may fall between two pixels (even widths). From the values a and b one pixel
    either side along the normal, p = (a + b) / 2 + 1 (used where the ridge is flat). The nearest background
    pixel centre lies beyond the edge by half a pixel's extent e along the normal (0.5 across an axis-aligned crack,
    up to 0.71 across a diagonal one), so the width is 2 * (p - e).

    window_px > 1 averages each width over the skeleton within a box of that side, so a short bulge
    of a segmenter's mask is not the max; 1 (the default) keeps each pixel's own width, which the
    photo check found right on real cracks (config measure.width_window_px, README Measurement).
    """
    if at is not None and window_px > 1:
        raise ValueError("widths at chosen pixels are each pixel's own (window_px 1)")
    ys, xs = np.nonzero(skel) if at is None else at
    t = _directions(skel, ys, xs)
    nx, ny = -np.sin(t), np.cos(t)  # unit normal

    d = dist[ys, xs]
    a, b = _bilinear(dist, xs + nx, ys + ny), _bilinear(dist, xs - nx, ys - ny)
    # Only a flat ridge (a neighbour as far from the background as the centre: an even pixel width)
    # moves the peak off the pixel; elsewhere the sampled sides are too coarse to beat d itself.
    flat = np.maximum(a, b) >= d - 0.05
    peak = np.where(flat, np.clip((a + b) / 2 + 1, d, d + 0.5), d)
    extent = 0.5 * (np.abs(np.cos(t)) + np.abs(np.sin(t)))
    widths = np.maximum(2.0 * (peak - extent), 1.0)
    if window_px <= 1:
        return widths
    width_img = np.zeros(skel.shape, np.float32)
    width_img[ys, xs] = widths
    win = (int(window_px), int(window_px))
    summed = cv2.boxFilter(width_img, -1, win, normalize=False, borderType=cv2.BORDER_CONSTANT)
    count = cv2.boxFilter(skel.astype(np.float32), -1, win, normalize=False, borderType=cv2.BORDER_CONSTANT)
    return (summed / np.maximum(count, 1))[ys, xs]


def _directions(skel: np.ndarray, ys: np.ndarray, xs: np.ndarray, half: int = 3) -> np.ndarray:
    """Local direction (radians) of the line at each skeleton pixel: the main axis of the skeleton
    pixels in the 7 x 7 box around it. Offsets within the box, not whole-image coordinate moments:
    those lose float precision thousands of pixels from the origin and cost arrays the crop's size."""
    padded = np.pad(skel.astype(bool), half)
    dy, dx = (v.ravel() for v in np.mgrid[-half:half + 1, -half:half + 1])
    # every pixel's box in one gather, its moments (n, dx, dy, dx2, dy2, dxdy) in one product; small whole
    # numbers, exact in float32
    hits = padded[(ys + half)[:, None] + dy, (xs + half)[:, None] + dx].astype(np.float32)
    weights = np.stack([np.ones_like(dx), dx, dy, dx * dx, dy * dy, dx * dy], axis=1).astype(np.float32)
    n, sx, sy, sxx, syy, sxy = (hits @ weights).T.astype(np.float64)
    mx, my = sx / n, sy / n
    cxx, cyy, cxy = sxx / n - mx * mx, syy / n - my * my, sxy / n - mx * my
    return 0.5 * np.arctan2(2 * cxy, cxx - cyy)


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`img` interpolated at the points (x, y), 0 outside it. Not cv2.remap: that refuses images and
    point lists of 32767 or more, and one crack on a long wall (16 m at 0.5 mm/px) reaches that."""
    h, w = img.shape
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)

    def at(yy, xx):
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        return np.where(inside, img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], 0.0)

    return ((at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy)
            + (at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx) * fy)


JUNCTION_HALF_WIDTHS = 1  # widths are left out this many local half widths (+ 2 px) around a junction, where two
# branches' union is wider than either. A branch leaving at an acute angle runs merged with its trunk until the gap
# opens (two lines w px wide diverging at angle a part after about (w + 1) / sin(a) px): 3 half widths would cover
# branches from about 20 degrees on, but cost real photos more (photo check, DeepCrack's first 150 exact masks, max
# width within 15 %: 1: 85 %, 2: 83 %, 3: 79 %) and, with spurs pruned, the simulator too (scan-check seeds 1-7: 44 of
# 47 at 1, 41 at 3; seeds 8-14: 44 of 50 either way; measured while a since-dropped hole rule was on).


def _near_junctions(skel: np.ndarray, dist: np.ndarray, joints=()) -> np.ndarray:
    """Pixels within JUNCTION_HALF_WIDTHS local half widths (+ 2) of a skeleton pixel with three or more neighbours,
    and within the disc inscribed at each of `joints` (where a pruned spur met the line: the spur was the trace of a
    bulge, and the mask is wider there than the crack; photo check, exact masks, max width within 15 %: DeepCrack
    88 % -> 95 %, masonry_dais 94 -> 96, CFD 97 -> 99, bridge tiles 94 -> 96; half the disc gave 91 / 95 / 97 / 94)."""
    n = neighbour_total(skel)
    near = np.zeros(skel.shape, np.uint8)
    for y, x in zip(*np.nonzero(skel & (n >= 3))):
        cv2.circle(near, (int(x), int(y)), int(math.ceil(JUNCTION_HALF_WIDTHS * dist[y, x] + 2)), 1, -1)
    for y, x in joints:
        cv2.circle(near, (int(x), int(y)), int(math.ceil(dist[y, x])), 1, -1)
    return near.astype(bool)


def measure_mask(
    mask: np.ndarray, mm_per_px: float = 1.0, min_area_px: int = 1, width_window_px: int = 1
) -> List[Measurement]:
    """Every 8-connected crack in `mask` (non-zero = crack; bool or uint8 levels), measured; smallest
    areas dropped."""
    mask = np.asarray(mask)
    count, labels, stats = components(mask)
    out = []
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        if area < min_area_px:
            continue
        m = measure_component(own_levels(labels, label, mask, (x, y, w, h)), mm_per_px, offset=(int(x), int(y)),
                              width_window_px=width_window_px)
        if m is not None:
            out.append(m)
    return out


def own_levels(labels: np.ndarray, label: int, mask: np.ndarray, box) -> np.ndarray:
    """Component `label` inside its box (x, y, w, h), in the mask's own levels: the neighbours
    that share the box left out."""
    x, y, w, h = (int(v) for v in box)
    own = labels[y : y + h, x : x + w] == label
    return own if mask.dtype == bool else np.where(own, mask[y : y + h, x : x + w], 0).astype(mask.dtype)
