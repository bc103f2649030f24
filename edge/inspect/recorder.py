"""Keeps each analysed photo's crack masks: the events say what was found and measured, not which
pixels, and the overlays draw the pixels. Stored as PNG bytes so a folder of large photos stays small."""
from __future__ import annotations

from typing import Dict, List, Tuple

import cv2
import numpy as np

Box = Tuple[int, int, int, int]


class MaskRecorder:
    """Stands in for the robot's FrameAnalyzer: analyses as it does, and keeps every frame's cracks as
    (box in frame pixels, PNG of the crack's pixels in that box)."""

    def __init__(self, analyzer):
        self.analyzer = analyzer
        self.cracks: Dict[int, List[Tuple[Box, bytes]]] = {}  # frame index -> its cracks

    def __getattr__(self, name):
        return getattr(self.analyzer, name)

    def analyze(self, frame, threshold, timer=None):
        result = self.analyzer.analyze(frame, threshold, timer=timer)
        kept = []
        for crack in result.cracks:
            if crack.mask is not None:
                ok, png = cv2.imencode(".png", (np.asarray(crack.mask) > 0).astype(np.uint8) * 255)
                if ok:
                    kept.append((tuple(int(v) for v in crack.bbox_px), png.tobytes()))
        self.cracks[frame.index] = kept
        return result


def unpack(png: bytes) -> np.ndarray:
    """The bool mask of a recorded crack."""
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE) > 0
