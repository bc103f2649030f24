"""Frame pixels -> wall millimetres, from the pose of the frame."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional, Tuple

from edge.types import Crack, Pose


def px_to_wall(u: float, v: float, pose: Pose, frame_hw: Tuple[int, int]) -> Tuple[float, float]:
    """The pose is the wall point under the frame centre; the scale is mm per pixel; the offset from
    the centre turns by the heading (the same transform edge/wall/mask.py pastes masks with)."""
    h, w = frame_hw
    du, dv = (u - w / 2) * pose.mm_per_px, (v - h / 2) * pose.mm_per_px
    if pose.heading_deg:
        th = math.radians(pose.heading_deg)
        du, dv = du * math.cos(th) - dv * math.sin(th), du * math.sin(th) + dv * math.cos(th)
    return pose.x_mm + du, pose.y_mm + dv


def place_on_wall(crack: Crack, pose: Optional[Pose], frame_hw: Tuple[int, int]) -> Crack:
    """The crack's box on the wall: the box around its four corners as placed (turned with the heading)."""
    if pose is None:
        return crack
    x0, y0, x1, y1 = crack.bbox_px
    corners = [px_to_wall(u, v, pose, frame_hw) for u, v in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return replace(crack, bbox_mm=(round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1)))
