"""Frame pixels -> wall millimetres, from the pose of the frame."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional, Tuple

from .types import Crack, Pose


def px_to_wall(u: float, v: float, pose: Pose, frame_hw: Tuple[int, int]) -> Tuple[float, float]:
    """The pose is the wall point under the frame centre; the scale is mm per pixel."""
    h, w = frame_hw
    return pose.x_mm + (u - w / 2) * pose.mm_per_px, pose.y_mm + (v - h / 2) * pose.mm_per_px


def place_on_wall(crack: Crack, pose: Optional[Pose], frame_hw: Tuple[int, int]) -> Crack:
    if pose is None:
        return crack
    x0, y0, x1, y1 = crack.bbox_px
    wx0, wy0 = px_to_wall(x0, y0, pose, frame_hw)
    wx1, wy1 = px_to_wall(x1, y1, pose, frame_hw)
    return replace(crack, bbox_mm=(round(wx0, 1), round(wy0, 1), round(wx1, 1), round(wy1, 1)))
