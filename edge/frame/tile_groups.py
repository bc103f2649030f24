"""From tile probabilities to cracks in a frame: neighbouring crack tiles form one crack."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import cv2
import numpy as np

from edge.types import Crack, Patch


def group_crack_tiles(
    probs: np.ndarray, patches: Sequence[Patch], grid: Tuple[int, int], threshold: float, frame_hw: Tuple[int, int]
) -> List[Crack]:
    """Connected groups (8-neighbourhood on the tile grid) of tiles at or above the threshold."""
    rows, cols = grid
    hot = (probs.reshape(rows, cols) >= threshold).astype(np.uint8)
    if not hot.any():
        return []
    count, labels = cv2.connectedComponents(hot, connectivity=8)
    h, w = frame_hw
    cracks = []
    for label in range(1, count):
        members = np.flatnonzero(labels.ravel() == label)
        boxes = np.array([(patches[i].x, patches[i].y, patches[i].x + patches[i].size, patches[i].y + patches[i].size)
                          for i in members])
        x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
        x1, y1 = min(boxes[:, 2].max(), w), min(boxes[:, 3].max(), h)
        cracks.append(Crack(bbox_px=(int(x0), int(y0), int(x1), int(y1)),
                            confidence=float(probs[members].max()), tiles=int(len(members))))
    return cracks
