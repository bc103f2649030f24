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


class TileGrid:
    """A frame's tiles as read-only strided views of the frame, no copy: a model reads them row by row
    (rows_of_tiles) straight into its input. Borders are mirrored rather than filled with a constant, so a
    tile half off the frame does not show the model a straight edge that could look like a crack; only the
    bands of the frame under the overhanging last row and column are copied to be mirrored, not the frame.

    It stands in for the (N, size, size, 3) array of tiles in row-major order: len(), grid[indices] (a copy
    of those tiles) and np.asarray(grid) (all of them)."""

    def __init__(self, rgb: np.ndarray, size: int, stride: int):
        if stride <= 0 or size <= 0:
            raise ValueError("tile size and stride must be positive")
        h, w = rgb.shape[:2]
        self.size, self.stride = size, stride
        self.rows, self.cols = rows, cols = tile_grid(h, w, size, stride)
        self.patches = [Patch(x=c * stride, y=r * stride, size=size) for r in range(rows) for c in range(cols)]
        pad_h, pad_w = (rows - 1) * stride + size - h, (cols - 1) * stride + size - w
        rgb = np.ascontiguousarray(rgb)
        self.channels, self.dtype = rgb.shape[2], rgb.dtype
        if (pad_h or pad_w) and (pad_h >= h or pad_w >= w):  # a frame smaller than its padding: pad it whole
            rgb = cv2.copyMakeBorder(rgb, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
            pad_h = pad_w = 0
        inner_rows, inner_cols = rows - (pad_h > 0), cols - (pad_w > 0)  # tiles wholly inside the frame
        # (first row, first column, (rows, cols, size, size, C) view) of each block of tiles
        self._blocks = [(0, 0, self._view(rgb, inner_rows, inner_cols))] if inner_rows and inner_cols else []
        if pad_h:  # the last row of tiles (and the corner): a band mirrored at the bottom (and right)
            top = min((rows - 1) * stride, h - 1 - pad_h)  # reaches as far up as the mirror does
            band = cv2.copyMakeBorder(rgb[top:], 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
            self._blocks.append((rows - 1, 0, self._view(band[(rows - 1) * stride - top:], 1, cols)))
        if pad_w and inner_rows:  # the last column above the last row: a band mirrored at the right
            left = min((cols - 1) * stride, w - 1 - pad_w)
            band = cv2.copyMakeBorder(rgb[:, left:], 0, 0, 0, pad_w, cv2.BORDER_REFLECT_101)
            self._blocks.append((0, cols - 1, self._view(band[:, (cols - 1) * stride - left:], inner_rows, 1)))

    def _view(self, image: np.ndarray, rows: int, cols: int) -> np.ndarray:
        sy, sx, sc = image.strides
        s = self.stride
        return np.lib.stride_tricks.as_strided(image, (rows, cols, self.size, self.size, image.shape[2]),
                                               (sy * s, sx * s, sy, sx, sc), writeable=False)

    @property
    def shape(self) -> Tuple[int, int, int, int]:
        return len(self), self.size, self.size, self.channels

    def __len__(self) -> int:
        return self.rows * self.cols

    def rows_of_tiles(self) -> List[List[np.ndarray]]:
        """Per row of tiles, the (k, size, size, C) views that hold its tiles left to right."""
        out = []
        for r in range(self.rows):
            pieces = [(c0, view[r - r0]) for r0, c0, view in self._blocks if r0 <= r < r0 + len(view)]
            out.append([piece for _, piece in sorted(pieces, key=lambda item: item[0])])
        return out

    def tile(self, i: int) -> np.ndarray:
        """Tile i (row-major) as a view."""
        r, c = divmod(int(i), self.cols)
        for r0, c0, view in self._blocks:
            if r0 <= r < r0 + view.shape[0] and c0 <= c < c0 + view.shape[1]:
                return view[r - r0, c - c0]
        raise IndexError(f"tile {i} of a {self.rows} x {self.cols} grid")

    def __getitem__(self, index) -> np.ndarray:
        """A copy of one tile (an int) or of the tiles at `index` (indices or a slice), stacked."""
        if isinstance(index, (int, np.integer)):
            return self.tile(index).copy()
        picks = range(len(self))[index] if isinstance(index, slice) else np.asarray(index, np.int64).ravel()
        out = np.empty((len(picks), self.size, self.size, self.channels), self.dtype)
        for k, i in enumerate(picks):
            out[k] = self.tile(i)
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.empty((self.rows, self.cols, self.size, self.size, self.channels), self.dtype)
        for r0, c0, view in self._blocks:
            out[r0 : r0 + view.shape[0], c0 : c0 + view.shape[1]] = view
        out = out.reshape(len(self), self.size, self.size, self.channels)
        return out if dtype is None else out.astype(dtype)


def tile_frame(rgb: np.ndarray, size: int, stride: int) -> Tuple[np.ndarray, List[Patch], Tuple[int, int]]:
    """(tiles (N, size, size, 3) in one array, patches with their top-left corners, (rows, cols)): the
    tiles of TileGrid gathered in one copy."""
    grid = TileGrid(rgb, size, stride)
    return np.asarray(grid), grid.patches, (grid.rows, grid.cols)
