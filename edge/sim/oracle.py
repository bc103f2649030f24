"""The oracle: a segmenter that knows the answer. It takes the simulator's exact crack mask inside the
tiles the classifier chose, so the scan-check can score measurement and tracking apart from any model."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from edge.types import Frame, Patch


def truth_tiles(truth: np.ndarray, patches: Sequence[Patch]) -> np.ndarray:
    """The exact mask (1.0 crack, 0.0 not) of each tile, zero where a tile runs past the frame."""
    size = patches[0].size if patches else 0
    out = np.zeros((len(patches), size, size), np.float32)
    h, w = truth.shape
    for k, p in enumerate(patches):
        crop = truth[p.y : min(p.y + p.size, h), p.x : min(p.x + p.size, w)]
        out[k, : crop.shape[0], : crop.shape[1]] = crop > 0
    return out


class OracleSegmenter:
    """A cascade segment function (edge/frame/cascade.py SegmentFn) over a SimCamera's frames."""

    name = "oracle"
    threshold = 0.5  # its probabilities are 0 or 1

    def __init__(self, camera):
        self.camera = camera

    def __call__(self, frame: Frame, tiles: np.ndarray, patches: Sequence[Patch]) -> np.ndarray:
        return truth_tiles(self.camera.truth_mask(frame.index), patches)
