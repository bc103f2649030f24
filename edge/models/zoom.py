"""Segmenting at a zoom: each tile enlarged `zoom` times and segmented as zoom x zoom tiles of its own
size, the probabilities shrunk back to the tile.

A crack's hairline tip or branch may be under a pixel wide in the frame (0.25 mm at 0.5 mm per pixel),
while most cracks in the photos the segmenter learned from are several pixels wide: enlarged, the
hairline is one the segmenter finds. It costs zoom squared segmenter runs per tile, and on cracks that
are already several pixels wide it does harm (README, Measurement).
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

SegmentFn = Callable[[np.ndarray], np.ndarray]  # (N, T, T, 3) uint8 tiles -> (N, T, T) float32 probabilities
MAX_ZOOM = 4


def check_zoom(zoom: int) -> int:
    if not isinstance(zoom, int) or isinstance(zoom, bool) or not 1 <= zoom <= MAX_ZOOM:
        raise ValueError(f"zoom must be a whole number from 1 to {MAX_ZOOM}, got {zoom!r}")
    return zoom


def enlarge(tiles: np.ndarray, zoom: int) -> np.ndarray:
    """(N, T, T, C) tiles -> (N * zoom**2, T, T, C): each tile enlarged and cut into parts, row by row."""
    n, t = len(tiles), tiles.shape[1]
    big = np.stack([cv2.resize(tile, (t * zoom, t * zoom), interpolation=cv2.INTER_LINEAR) for tile in tiles])
    parts = big.reshape(n, zoom, t, zoom, t, -1).transpose(0, 1, 3, 2, 4, 5)
    return parts.reshape(n * zoom * zoom, t, t, tiles.shape[3])


def shrink(parts: np.ndarray, zoom: int) -> np.ndarray:
    """The inverse of enlarge for probabilities: (N * zoom**2, T, T) -> (N, T, T), each pixel the mean
    over the enlarged pixels it became."""
    t = parts.shape[1]
    n = len(parts) // (zoom * zoom)
    big = parts.reshape(n, zoom, zoom, t, t).transpose(0, 1, 3, 2, 4).reshape(n, t * zoom, t * zoom)
    return np.stack([cv2.resize(b, (t, t), interpolation=cv2.INTER_AREA) for b in big]).astype(np.float32, copy=False)


def zoomed(segment_fn: SegmentFn, zoom: int) -> SegmentFn:
    """segment_fn run at `zoom` (1: segment_fn itself)."""
    if check_zoom(zoom) == 1:
        return segment_fn

    def segment(tiles: np.ndarray) -> np.ndarray:
        tiles = tiles[None] if tiles.ndim == 3 else tiles
        if len(tiles) == 0:
            return np.empty(tiles.shape[:3], np.float32)
        return shrink(np.asarray(segment_fn(enlarge(tiles, zoom))), zoom)

    return segment
