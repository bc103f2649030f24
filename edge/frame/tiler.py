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

    Borders are mirrored rather than filled with a constant, so a tile half off the frame does not
    show the model a straight edge that could look like a crack.
    """
    if stride <= 0 or size <= 0:
        raise ValueError("tile size and stride must be positive")
    h, w = rgb.shape[:2]
    rows, cols = tile_grid(h, w, size, stride)
    need_h, need_w = (rows - 1) * stride + size, (cols - 1) * stride + size
    padded = rgb
    if need_h > h or need_w > w:
        padded = cv2.copyMakeBorder(rgb, 0, need_h - h, 0, need_w - w, cv2.BORDER_REFLECT_101)
    tiles = np.empty((rows * cols, size, size, rgb.shape[2]), rgb.dtype)
    patches = []
    for r in range(rows):
        for c in range(cols):
            y, x = r * stride, c * stride
            tiles[r * cols + c] = padded[y : y + size, x : x + size]
            patches.append(Patch(x=x, y=y, size=size))
    return tiles, patches, (rows, cols)
