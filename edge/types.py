"""The values that flow between pipeline stages."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class Pose:
    """Where the camera looks: the wall point (mm) under the frame centre, and the scale.

    heading_deg turns the image about the optical axis: a frame pixel offset (du, dv) from the
    centre lies at (du, dv) rotated by heading_deg on the wall.
    """

    x_mm: float
    y_mm: float
    mm_per_px: float
    heading_deg: float = 0.0


@dataclass(frozen=True)
class Frame:
    rgb: np.ndarray  # HxWx3 uint8, RGB order
    ts: float  # capture time, seconds since the epoch
    index: int
    pose: Optional[Pose] = None
    mm_per_px: Optional[float] = None  # scale without a position (no pose source); the pose's scale wins
    # A higher-resolution copy of the same instant (picamera2's main stream), for evidence crops.
    hires: Optional[np.ndarray] = field(default=None, compare=False, repr=False)

    @property
    def scale(self) -> Optional[float]:
        return self.pose.mm_per_px if self.pose is not None else self.mm_per_px


@dataclass(frozen=True)
class Patch:
    """One tile of a frame; (x, y) is its top-left corner in frame pixels."""

    x: int
    y: int
    size: int


@dataclass(frozen=True)
class Crack:
    """A crack seen in one frame: a connected group of crack tiles, or with a segmenter, one
    connected component of the frame mask, measured."""

    bbox_px: Tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels (x1, y1 exclusive)
    confidence: float
    tiles: int
    bbox_mm: Optional[Tuple[float, float, float, float]] = None  # same box on the wall, mm
    length_mm: Optional[float] = None
    width_max_mm: Optional[float] = None
    width_mean_mm: Optional[float] = None
    orientation_deg: Optional[float] = None
    width_p95_mm: Optional[float] = None
    below_resolution: Optional[bool] = None
    # The component's pixels inside bbox_px (bool, or uint8 levels: see edge/frame/measure.py), so the tracker
    # can stitch a crack seen in many frames.
    mask: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
