"""Severity colours of the report, as CSS hex: the crack map's palette (monitor/palette.py, BGR there;
tests/edge/test_report.py holds them equal), kept here so the report needs nothing from monitor/."""
from __future__ import annotations

import math
from typing import Optional

# RGB per category 0..5 of a six-step scale (BRE Digest 251 style): green -> purple.
SEVERITY_RGB = {
    0: (76, 175, 80),
    1: (190, 200, 57),
    2: (255, 180, 7),
    3: (245, 100, 34),
    4: (211, 47, 47),
    5: (123, 31, 162),
}
BEYOND_SCALE_RGB = (70, 20, 70)
UNMEASURED_RGB = (150, 150, 150)


def severity_rgb(category) -> tuple:
    """RGB of a severity category; grey when unmeasured, dark purple for a category off the scale."""
    if category is None:
        return UNMEASURED_RGB
    try:
        value = float(category)
    except (TypeError, ValueError):
        return BEYOND_SCALE_RGB
    if not math.isfinite(value) or value != int(value):
        return BEYOND_SCALE_RGB
    return SEVERITY_RGB.get(int(value), BEYOND_SCALE_RGB)


def severity_hex(category: Optional[int]) -> str:
    r, g, b = severity_rgb(category)
    return f"#{r:02x}{g:02x}{b:02x}"
