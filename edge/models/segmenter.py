"""Per-pixel crack probability for tiles, fed as model.json says, by either engine (edge/models/engines.py).

The bundle's tile.size is the tile cut from the frame; the model's input S x S comes from
model.json too. A tile is resized to S, and the S x S probability map back to the tile size.
"""
from __future__ import annotations

import cv2
import numpy as np

from edge.errors import ModelError
from edge.models.bundle import Bundle
from edge.models.engines import TileModel
from edge.models.preprocess import dequantize


class Segmenter(TileModel):
    """segment(): resize, preprocess, run, dequantize, resize back."""

    task = "segmentation"
    # One tile per invoke: the count of tiles to segment changes from frame to frame, and re-planning
    # the interpreter for every count cost more memory (edge RSS 230 -> 400 MB) than a batch saves.
    may_batch = False

    def check_info(self, bundle: Bundle) -> None:
        info = bundle.info
        if len(info.input.shape) != 4 or info.input.shape[0] != 1 or info.input.shape[3] != 3:
            raise ModelError(f"{bundle.folder}/model.json: input shape {info.input.shape} is not [1, S, S, 3]")
        if len(info.output.shape) != 4 or info.output.shape[1:3] != info.input.shape[1:3] or info.output.shape[3] != 1:
            raise ModelError(f"{bundle.folder}/model.json: output shape {info.output.shape} is not [1, S, S, 1] "
                             f"for input {info.input.shape}")
        self.tile_size = info.tile.size
        self.threshold = info.threshold

    @property
    def model_size(self) -> tuple:
        return self.info.input.shape[1], self.info.input.shape[2]

    def segment(self, tiles: np.ndarray) -> np.ndarray:
        """(N, T, T, 3) uint8 RGB tiles -> (N, T, T) float32 crack probabilities (T = tile.size)."""
        if tiles.ndim == 3:
            tiles = tiles[None]
        n, t = len(tiles), tiles.shape[1]
        if tiles.shape[1:3] != (self.tile_size, self.tile_size):
            raise ValueError(f"tiles are {tiles.shape[1:3]}, model.json tile.size is {self.tile_size}")
        sh, sw = self.model_size
        # Area averaging keeps a much smaller copy from aliasing; a 227 px tile fed to a 224 px model loses
        # 1.3 %, where bilinear sampling already spans each target pixel's footprint, at an eighth of the cost.
        to_model = cv2.INTER_AREA if sh < 0.9 * t else cv2.INTER_LINEAR
        out = np.empty((n, t, t), np.float32)
        for i in range(n):  # one tile at a time (one invoke each anyway): no stack of resized copies
            tile = tiles[i] if (sh, sw) == (t, t) else cv2.resize(tiles[i], (sw, sh), interpolation=to_model)
            probs = dequantize(self.run_pixels(tile[None])[0, ..., 0], self.info.output)
            out[i] = probs if (sh, sw) == (t, t) else cv2.resize(probs, (t, t), interpolation=cv2.INTER_LINEAR)
        return out
