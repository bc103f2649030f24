"""mm per pixel on the wall: given directly, or from the camera intrinsics and the stand-off.

A pinhole camera square to the wall at distance Z sees one pixel of pitch p (after binning b)
through a lens of focal length f as Z * p * b / f on the wall. Example: the Raspberry Pi HQ camera
(1.55 um pixels) with a 6 mm lens at 400 mm, on a 2x binned stream: 400 * 0.00155 * 2 / 6 = 0.207 mm.
"""
from __future__ import annotations

from typing import Optional

from .errors import ConfigError


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


def check_scale(scale_cfg) -> None:
    """Half a set of intrinsics is a mistake worth stopping for, not a silent 'no scale'."""
    parts = {"focal_length_mm": scale_cfg.focal_length_mm, "pixel_pitch_um": scale_cfg.pixel_pitch_um}
    given = [k for k, v in parts.items() if v is not None]
    if scale_cfg.mm_per_px is None and len(given) == 1:
        other = next(k for k in parts if k not in given)
        raise ConfigError(f"scale.{given[0]} is set but scale.{other} is not: both are needed for the scale")
