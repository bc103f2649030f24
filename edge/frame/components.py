"""8-connected components of a mask with each one's box and area, as cv2.connectedComponentsWithStats gives
them (labels in the same order), at the cost of the crack pixels rather than of the mask: OpenCV's statistics
visit every pixel of the mask, and a frame's segmented box is mostly background (1080 x 1362: 6.2 -> 1.1 ms)."""
from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np


def components(mask: np.ndarray) -> Tuple[int, np.ndarray, np.ndarray]:
    """Of the mask's non-zero pixels: (count with the background, int32 labels, (count, 5) stats: x, y, width,
    height, area per label). Row 0 (the background) is left zero: no caller reads it."""
    mask = np.asarray(mask)
    grey = (mask if mask.dtype == bool else mask > 0).view(np.uint8)
    count, labels = cv2.connectedComponents(grey, connectivity=8)
    stats = np.zeros((count, 5), np.int32)
    if count < 2:
        return count, labels, stats
    xs, ys = cv2.findNonZero(grey).reshape(-1, 2).T
    label = labels[ys, xs]
    order = np.argsort(label, kind="stable")
    xs, ys, label = xs[order], ys[order], label[order]
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])  # every label 1..count-1 has pixels
    x0, y0 = np.minimum.reduceat(xs, starts), np.minimum.reduceat(ys, starts)
    x1, y1 = np.maximum.reduceat(xs, starts), np.maximum.reduceat(ys, starts)
    stats[1:] = np.stack([x0, y0, x1 - x0 + 1, y1 - y0 + 1, np.diff(np.r_[starts, len(label)])], axis=1)
    return count, labels, stats
