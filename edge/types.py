"""The values that flow between pipeline stages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class Pose:
    """Where the camera looks: the wall point (mm) under the frame centre, and the scale."""

    x_mm: float
    y_mm: float
    mm_per_px: float


@dataclass(frozen=True)
class Frame:
    rgb: np.ndarray  # HxWx3 uint8, RGB order
    ts: float  # capture time, seconds since the epoch
    index: int
    pose: Optional[Pose] = None


@dataclass(frozen=True)
class Patch:
    """One tile of a frame; (x, y) is its top-left corner in frame pixels."""

    x: int
    y: int
    size: int


@dataclass(frozen=True)
class Crack:
    """A crack seen in one frame: a connected group of crack tiles."""

    bbox_px: Tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels (x1, y1 exclusive)
    confidence: float
    tiles: int
    bbox_mm: Optional[Tuple[float, float, float, float]] = None  # same box on the wall, mm
    length_mm: Optional[float] = None
    width_max_mm: Optional[float] = None
    width_mean_mm: Optional[float] = None
    orientation_deg: Optional[float] = None
