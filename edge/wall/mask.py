"""A crack's mask on the wall, stitched from every frame that saw part of it.

A crack longer than the frame, or cut by a frame edge, is only whole on the wall: each frame's
component mask is pasted into a canvas in wall pixels (the scale of the first frame), and the
crack is measured there, once, instead of adding up overlapping partial views.

Where views disagree, each pixel's votes decide its width: a pixel one view marks sure and as many
views that looked at it leave empty is kept for the crack's extent and length, but not its width
(it becomes FAINT, edge/frame/measure.py). A segmenter's edges jitter by a pixel from view to view; the
union of the views alone would read every crack as wide as its widest view.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import cv2
import numpy as np

from edge.frame.measure import FAINT, SURE, Measurement, as_levels, measure_mask
from edge.types import Pose

SEEN_MARGIN_PX = 4  # a view looked at this much of the wall around its component, beyond its box


def _shape(box) -> Tuple[int, int]:
    return box[3] - box[1], box[2] - box[0]


def _put(window: np.ndarray, window_box, values: np.ndarray, box) -> None:
    """Copy `values` (the pixels of frame box `box`) into `window` (frame box `window_box`) where they meet."""
    x0, y0 = max(box[0], window_box[0]), max(box[1], window_box[1])
    x1, y1 = min(box[2], window_box[2]), min(box[3], window_box[3])
    if x1 <= x0 or y1 <= y0:
        return
    src = values[y0 - box[1] : y1 - box[1], x0 - box[0] : x1 - box[0]]
    dst = window[y0 - window_box[1] : y1 - window_box[1], x0 - window_box[0] : x1 - window_box[0]]
    np.maximum(dst, src.astype(window.dtype), out=dst)


class WallMask:
    def __init__(self, mm_per_px: float):
        self.res = float(mm_per_px)  # mm per canvas pixel
        self.origin = (0, 0)  # wall pixel (x, y) of canvas[0, 0]
        self.canvas: Optional[np.ndarray] = None  # uint8 mask levels (edge/frame/measure.py), 0 = no crack
        self.sure_votes: Optional[np.ndarray] = None  # uint16: views that marked each pixel sure
        self.nays: Optional[np.ndarray] = None  # uint16: views that looked at each pixel and left it empty
        # The latest view's empty pixels, counted into `nays` once that view is over: a crack seen in
        # pieces pastes one piece at a time, and their margins overlap, but the view votes once.
        self.view_nays: Optional[np.ndarray] = None  # bool
        self._view = None
        self._sure_area = 0  # pixels sure after the votes, counted where each paste changes them
        self._dist: Optional[np.ndarray] = None  # distance (px) to the nearest crack pixel, made on demand

    def _affine(self, bbox_px, pose: Pose, frame_hw) -> np.ndarray:
        """Component pixel (c, r) -> wall pixel: rotate by the heading, scale, translate (pose = frame centre)."""
        h, w = frame_hw
        s = pose.mm_per_px / self.res
        th = math.radians(pose.heading_deg)
        cos, sin = math.cos(th), math.sin(th)
        du, dv = bbox_px[0] - w / 2, bbox_px[1] - h / 2
        tx = (pose.x_mm + pose.mm_per_px * (cos * du - sin * dv)) / self.res
        ty = (pose.y_mm + pose.mm_per_px * (sin * du + cos * dv)) / self.res
        return np.array([[s * cos, -s * sin, tx], [s * sin, s * cos, ty]], np.float64)

    def _grow(self, x0: int, y0: int, x1: int, y1: int) -> None:
        if self.canvas is None:
            self.origin = (x0, y0)
            self.canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
            self._votes()
            return
        self._votes()
        ox, oy = self.origin
        ch, cw = self.canvas.shape
        nx0, ny0 = min(ox, x0), min(oy, y0)
        nx1, ny1 = max(ox + cw, x1), max(oy + ch, y1)
        if (nx0, ny0, nx1, ny1) == (ox, oy, ox + cw, oy + ch):
            return

        def grown(a: np.ndarray) -> np.ndarray:
            out = np.zeros((ny1 - ny0, nx1 - nx0), a.dtype)
            out[oy - ny0 : oy - ny0 + ch, ox - nx0 : ox - nx0 + cw] = a
            return out

        self.canvas, self.sure_votes = grown(self.canvas), grown(self.sure_votes)
        self.nays, self.view_nays = grown(self.nays), grown(self.view_nays)
        self.origin = (nx0, ny0)

    def paste(self, mask: np.ndarray, bbox_px, pose: Pose, frame_hw, others=(), view=None) -> None:
        """Add a frame component (its bbox_px: a bool mask or levels, see edge/frame/measure.py) to the canvas:
        a pixel keeps its highest level over the views, and this view's vote: sure, or empty within
        SEEN_MARGIN_PX of the component, inside the frame. `others`: (mask, bbox_px) of the frame's other
        components, whose pixels are not empty. `view`: the frame's id, the same for every piece of one
        frame (None: each paste is a view of its own)."""
        if view is None or view != self._view:
            self._end_view()
        self._view = view
        window = self._margin_box(bbox_px, frame_hw)
        levels, taken = np.zeros(_shape(window), np.uint8), np.zeros(_shape(window), np.uint8)
        _put(levels, window, as_levels(mask), bbox_px)
        for other_mask, other_box in others:
            _put(taken, window, np.asarray(other_mask) > 0, other_box)
        seen = np.ones(levels.shape, np.uint8)
        warped_levels, warped_seen, warped_taken, (x0, y0) = self._warp([levels, seen, taken], window, pose, frame_hw)
        nays = (warped_seen > 0) & (warped_levels == 0) & (warped_taken == 0)
        self._add_in(x0, y0, warped_levels, warped_levels >= SURE, view_nays=nays)
        if view is None:
            self._end_view()

    def _end_view(self) -> None:
        if self.view_nays is not None:
            self.nays += self.view_nays
            self.view_nays[:] = False

    def _votes(self) -> None:
        """The vote arrays, made again after settle(): each sure pixel left counts as one view's vote."""
        if self.sure_votes is None and self.canvas is not None:
            self.sure_votes = (self.canvas >= SURE).astype(np.uint16)
            self.nays = np.zeros(self.canvas.shape, np.uint16)
            self.view_nays = np.zeros(self.canvas.shape, bool)

    def settle(self) -> None:
        """Apply the votes to the canvas and free them (5 more bytes per pixel): an ended crack keeps
        its mask to be matched again, and a crack seen anew starts its votes from what is settled."""
        if self.canvas is None:
            return
        self.canvas = self.fused()
        self.sure_votes = self.nays = self.view_nays = None
        self._view = None

    @staticmethod
    def _margin_box(bbox_px, frame_hw):
        """The component's box grown by SEEN_MARGIN_PX, inside the frame (a box past the frame stays whole)."""
        h, w = frame_hw
        x0, y0, x1, y1 = (int(v) for v in bbox_px)
        m = SEEN_MARGIN_PX
        return (min(x0, max(0, x0 - m)), min(y0, max(0, y0 - m)), max(x1, min(w, x1 + m)), max(y1, min(h, y1 + m)))

    def _warp(self, arrays, bbox_px, pose: Pose, frame_hw):
        """Frame-pixel arrays of one box -> the same arrays in wall pixels, and the wall pixel of their corner."""
        a = self._affine(bbox_px, pose, frame_hw)
        mh, mw = arrays[0].shape
        corners = np.array([[0, 0, 1], [mw, 0, 1], [0, mh, 1], [mw, mh, 1]], np.float64) @ a.T
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        local = a.copy()
        local[:, 2] -= (x0, y0)
        shift = np.allclose(local[:, :2], np.eye(2)) and np.allclose(local[:, 2], np.round(local[:, 2]))
        dx, dy = int(round(local[0, 2])), int(round(local[1, 2]))
        out = []
        for src in arrays:
            if shift:  # a pure whole-pixel shift (the usual case): copy, no resampling
                warped = np.zeros((y1 - y0, x1 - x0), np.uint8)
                warped[dy : dy + mh, dx : dx + mw] = src
            else:
                warped = cv2.warpAffine(src, local, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_NEAREST)
            out.append(warped)
        return (*out, (int(x0), int(y0)))

    def merge(self, other: "WallMask") -> None:
        """Add another crack's stitched mask and votes to this one (resampled if its scale differs)."""
        if other.canvas is None:
            return
        s = other.res / self.res
        other._votes()
        arrays = [other.canvas, other.sure_votes, other.nays + other.view_nays]
        if abs(s - 1.0) > 1e-9:
            h, w = other.canvas.shape
            size = (max(1, round(w * s)), max(1, round(h * s)))
            arrays = [cv2.resize(a, size, interpolation=cv2.INTER_NEAREST) for a in arrays]
        self._add_in(round(other.origin[0] * s), round(other.origin[1] * s), *arrays)

    def _add_in(self, x0: int, y0: int, levels: np.ndarray, sure_votes: np.ndarray, nays=None, view_nays=None) -> None:
        """Add `levels` (kept where higher) and votes (counts, or this view's empty pixels) to the canvas,
        grown to hold them, with their top-left corner at wall pixel (x0, y0)."""
        h, w = levels.shape
        self._grow(x0, y0, x0 + w, y0 + h)
        ox, oy = self.origin
        window = np.s_[y0 - oy : y0 - oy + h, x0 - ox : x0 - ox + w]
        before = self._agreed(window)
        np.maximum(self.canvas[window], levels, out=self.canvas[window])
        self.sure_votes[window] += sure_votes.astype(np.uint16)
        if nays is not None:
            self.nays[window] += nays.astype(np.uint16)
        if view_nays is not None:
            self.view_nays[window] |= view_nays
        self._sure_area += self._agreed(window) - before
        self._dist = None

    def _agreed(self, window) -> int:
        """Pixels inside `window` that stay sure after the votes (see fused)."""
        c, v = self.canvas[window], self.sure_votes[window]
        return int(np.count_nonzero((c >= SURE) & (v > self.nays[window] + self.view_nays[window])))

    def fused(self) -> Optional[np.ndarray]:
        """The canvas with each pixel's votes applied: sure only where more views marked it sure than
        looked at it and left it empty; else faint (extent and length, not width)."""
        if self.canvas is None:
            return None
        out = self.canvas.copy()
        if self.sure_votes is None:  # settled
            return out
        out[(out >= SURE) & (self.sure_votes <= self.nays + self.view_nays)] = FAINT
        return out

    def distance_mm(self, mask: np.ndarray, bbox_px, pose: Pose, frame_hw, samples: int = 400) -> float:
        """Shortest distance from a frame component (placed on the wall) to this crack's pixels, in mm."""
        if self.canvas is None or not self.canvas.any():
            return float("inf")
        if self._dist is None:
            self._dist = cv2.distanceTransform((self.canvas == 0).astype(np.uint8), cv2.DIST_L2, 3)
        ys, xs = np.nonzero(mask)
        if len(xs) > samples:  # a few hundred pixels of the component decide as well as all of them
            pick = np.linspace(0, len(xs) - 1, samples).astype(int)
            ys, xs = ys[pick], xs[pick]
        a = self._affine(bbox_px, pose, frame_hw)
        wx = a[0, 0] * xs + a[0, 1] * ys + a[0, 2] - self.origin[0]
        wy = a[1, 0] * xs + a[1, 1] * ys + a[1, 2] - self.origin[1]
        h, w = self.canvas.shape
        cx, cy = np.clip(np.round(wx), 0, w - 1).astype(int), np.clip(np.round(wy), 0, h - 1).astype(int)
        # outside the canvas: the way to its edge plus the distance from there (an upper bound)
        d = self._dist[cy, cx] + np.hypot(wx - cx, wy - cy)
        return float(d.min()) * self.res

    def area(self) -> int:
        return int(np.count_nonzero(self.canvas)) if self.canvas is not None else 0

    def sure_area(self) -> int:
        """Pixels the views agree are sure: they give the widths, and votes change them without the area
        changing. Kept up to date by each paste (a view's window, not the whole canvas): the tracker asks
        every frame. Ending a view or settling changes no pixel's outcome."""
        return self._sure_area

    def bbox_mm(self) -> Optional[Tuple[float, float, float, float]]:
        if self.canvas is None or not self.canvas.any():
            return None
        ys, xs = np.nonzero(self.canvas)
        ox, oy = self.origin
        r = self.res
        return ((ox + xs.min()) * r, (oy + ys.min()) * r, (ox + xs.max() + 1) * r, (oy + ys.max() + 1) * r)

    def measure(self, min_area_px: int = 1, width_window_px: int = 1) -> List[Measurement]:
        """The crack's parts in mm (several when the views left gaps)."""
        if self.canvas is None:
            return []
        return measure_mask(self.fused(), self.res, min_area_px=min_area_px, width_window_px=width_window_px)
