"""The severity palette of the crack map and the live table: a BGR colour per severity category (grey by
confidence while unmeasured), from the report's RGB (edge/report/colours.py), and category names of known
scales. Width bands and label names come with the scales (edge/frame/severity.py)."""
from __future__ import annotations

from edge.report.colours import BEYOND_SCALE_RGB, SEVERITY_RGB
from monitor.values import finite

# BGR for OpenCV, from the report's RGB (one palette for map, report and live table).
SEVERITY_COLOURS = {category: rgb[::-1] for category, rgb in SEVERITY_RGB.items()}
BEYOND_SCALE = BEYOND_SCALE_RGB[::-1]
# Category names of known scales, for legend entries no crack on this map has named yet.
SCALE_LABELS = {
    "BRE-Digest-251": {0: "negligible", 1: "very slight", 2: "slight", 3: "moderate", 4: "severe", 5: "very severe"},
}
UNMEASURED_LOW, UNMEASURED_HIGH = (205, 200, 195), (79, 71, 55)  # confidence 0 -> 1, light -> dark grey


def severity_colour(category: int | None, confidence: float | None = None) -> tuple[int, int, int]:
    """BGR colour of a crack: by severity category, or by confidence when it is unmeasured."""
    if category is None:
        c = finite(confidence)
        c = 0.5 if c is None else min(max(c, 0.0), 1.0)
        return tuple(int(round(lo + (hi - lo) * c)) for lo, hi in zip(UNMEASURED_LOW, UNMEASURED_HIGH))
    cat = finite(category, 1e6)
    return SEVERITY_COLOURS.get(int(cat), BEYOND_SCALE) if cat is not None else BEYOND_SCALE
