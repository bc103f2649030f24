"""A crack's mask on the wall, stitched from every frame that saw part of it.

A crack longer than the frame, or cut by a frame edge, is only whole on the wall: each frame's
component mask is pasted into a canvas in wall pixels (the scale of the first frame), and the
crack is measured there, once, instead of adding up overlapping partial views.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import cv2
import numpy as np

from .measure import Measurement, as_levels, measure_mask
from .types import Pose


class WallMask:
    def __init__(self, mm_per_px: float):
        self.res = float(mm_per_px)  # mm per canvas pixel
        self.origin = (0, 0)  # wall pixel (x, y) of canvas[0, 0]
        self.canvas: Optional[np.ndarray] = None  # uint8 mask levels (edge/measure.py), 0 = no crack
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
            return
        ox, oy = self.origin
        ch, cw = self.canvas.shape
        nx0, ny0 = min(ox, x0), min(oy, y0)
        nx1, ny1 = max(ox + cw, x1), max(oy + ch, y1)
        if (nx0, ny0, nx1, ny1) == (ox, oy, ox + cw, oy + ch):
            return
        grown = np.zeros((ny1 - ny0, nx1 - nx0), np.uint8)
        grown[oy - ny0 : oy - ny0 + ch, ox - nx0 : ox - nx0 + cw] = self.canvas
        self.canvas, self.origin = grown, (nx0, ny0)

    def paste(self, mask: np.ndarray, bbox_px, pose: Pose, frame_hw) -> None:
        """OR a frame component (its bbox_px: a bool mask or levels, see edge/measure.py) into the canvas;
        where views differ, a pixel keeps its highest level."""
        a = self._affine(bbox_px, pose, frame_hw)
        mh, mw = mask.shape
        corners = np.array([[0, 0, 1], [mw, 0, 1], [0, mh, 1], [mw, mh, 1]], np.float64) @ a.T
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        local = a.copy()
        local[:, 2] -= (x0, y0)
        src = as_levels(mask)
        if np.allclose(local[:, :2], np.eye(2)) and np.allclose(local[:, 2], np.round(local[:, 2])):
            # a pure whole-pixel shift (the usual case): copy, no resampling
            dx, dy = int(round(local[0, 2])), int(round(local[1, 2]))
            warped = np.zeros((y1 - y0, x1 - x0), np.uint8)
            warped[dy : dy + mh, dx : dx + mw] = src
        else:
            warped = cv2.warpAffine(src, local, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_NEAREST)
        self._or_in(int(x0), int(y0), warped)

    def merge(self, other: "WallMask") -> None:
        """OR another crack's stitched mask into this one (resampled if its scale differs)."""
        if other.canvas is None:
            return
        s = other.res / self.res
        src = other.canvas
        if abs(s - 1.0) > 1e-9:
            h, w = src.shape
            src = cv2.resize(src, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_NEAREST)
        self._or_in(round(other.origin[0] * s), round(other.origin[1] * s), src)

    def _or_in(self, x0: int, y0: int, src: np.ndarray) -> None:
        """OR `src` into the canvas, grown to hold it, with its top-left corner at wall pixel (x0, y0)."""
        self._grow(x0, y0, x0 + src.shape[1], y0 + src.shape[0])
        ox, oy = self.origin
        region = self.canvas[y0 - oy : y0 - oy + src.shape[0], x0 - ox : x0 - ox + src.shape[1]]
        np.maximum(region, src, out=region)
        self._dist = None

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

    def bbox_mm(self) -> Optional[Tuple[float, float, float, float]]:
        if self.canvas is None or not self.canvas.any():
            return None
        ys, xs = np.nonzero(self.canvas)
        ox, oy = self.origin
        r = self.res
        return ((ox + xs.min()) * r, (oy + ys.min()) * r, (ox + xs.max() + 1) * r, (oy + ys.max() + 1) * r)

    def measure(self, min_area_px: int = 1) -> List[Measurement]:
        """The crack's parts in mm (several when the views left gaps)."""
        if self.canvas is None:
            return []
        return measure_mask(self.canvas, self.res, min_area_px=min_area_px)
