"""Crack / no-crack probability per tile, fed as model.json says, by either engine (edge/models/engines.py)."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from edge.frame.tiler import TileGrid
from edge.models.engines import TileModel
from edge.models.preprocess import dequantize


class Classifier(TileModel):
    """classify(): preprocess, run, dequantize; with LiteRT a frame's tiles go in a few invokes of up to 9
    (edge/models/batched.py)."""

    task = "classification"

    @property
    def batches(self) -> bool:
        """Whether the engine runs many tiles per invoke (False once a graph refused a batch)."""
        return getattr(self.engine, "batches", False)

    @property
    def input_size(self) -> Tuple[int, int]:
        return self.info.input.shape[1], self.info.input.shape[2]

    def classify(self, patches) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB patches, or a frame's TileGrid -> (N,) crack probabilities."""
        if isinstance(patches, TileGrid):
            if (patches.size, patches.size) != self.input_size:
                raise ValueError(f"tiles are {patches.size} px, model wants {self.input_size}")
            q = self.run_grid(patches)
        else:
            if patches.ndim == 3:
                patches = patches[None]
            if patches.shape[1:3] != self.input_size:
                raise ValueError(f"patches are {patches.shape[1:3]}, model wants {self.input_size}")
            q = self.run_pixels(patches)
        return dequantize(q.reshape(-1, q.shape[-1])[:, -1], self.info.output)  # the last class: crack
