"""mm per pixel on the wall: given directly, or from the camera intrinsics and the stand-off.

A pinhole camera square to the wall at distance Z sees one pixel of pitch p (after binning b)
through a lens of focal length f as Z * p * b / f on the wall. Example: the Raspberry Pi HQ camera
(1.55 um pixels) with a 6 mm lens at 400 mm, on a 2x binned stream: 400 * 0.00155 * 2 / 6 = 0.207 mm.
"""
from __future__ import annotations

from typing import Optional


def mm_per_px(scale_cfg, standoff_mm: Optional[float] = None) -> Optional[float]:
    """The scale for a frame; standoff_mm (from the pose) overrides the configured stand-off. None: unknown."""
    if scale_cfg.mm_per_px is not None:
        return scale_cfg.mm_per_px
    if scale_cfg.focal_length_mm is None or scale_cfg.pixel_pitch_um is None:
        return None
    z = standoff_mm if standoff_mm is not None else scale_cfg.standoff_mm
    if z is None:
        return None
    return z * scale_cfg.pixel_pitch_um * 1e-3 * scale_cfg.binning / scale_cfg.focal_length_mm
