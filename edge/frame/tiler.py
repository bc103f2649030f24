"""Cuts a frame into square tiles the size the model was trained on, padding the borders."""
from __future__ import annotations

import math
from typing import List, Tuple

import cv2
import numpy as np

from edge.types import Patch


def tile_grid(height: int, width: int, size: int, stride: int) -> Tuple[int, int]:
    """Rows and columns of tiles needed to cover the frame (the last ones overhang into padding)."""
    rows = max(1, math.ceil((height - size) / stride) + 1) if height > size else 1
    cols = max(1, math.ceil((width - size) / stride) + 1) if width > size else 1
    return rows, cols


def tile_frame(rgb: np.ndarray, size: int, stride: int) -> Tuple[np.ndarray, List[Patch], Tuple[int, int]]:
    """(tiles (N, size, size, 3), patches with their top-left corners, (rows, cols)).

    The tiles are gathered from a strided view of the frame (padded where the grid runs past it) in one copy,
    not one per tile. Borders are mirrored rather than filled with a constant, so a tile half off the frame
    does not show the model a straight edge that could look like a crack.
    """
    if stride <= 0 or size <= 0:
        raise ValueError("tile size and stride must be positive")
    h, w = rgb.shape[:2]
    rows, cols = tile_grid(h, w, size, stride)
    need_h, need_w = (rows - 1) * stride + size, (cols - 1) * stride + size
    padded = np.ascontiguousarray(rgb)
    if need_h > h or need_w > w:
        padded = cv2.copyMakeBorder(padded, 0, need_h - h, 0, need_w - w, cv2.BORDER_REFLECT_101)
    sy, sx, sc = padded.strides
    grid = np.lib.stride_tricks.as_strided(padded, (rows, cols, size, size, padded.shape[2]),
                                           (sy * stride, sx * stride, sy, sx, sc), writeable=False)
    tiles = grid.reshape(rows * cols, size, size, padded.shape[2])  # the one copy
    patches = [Patch(x=c * stride, y=r * stride, size=size) for r in range(rows) for c in range(cols)]
    return tiles, patches, (rows, cols)
