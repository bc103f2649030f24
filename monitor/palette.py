"""The severity palette the crack map, the HTML report and the live table share: a BGR colour per
severity category (grey by confidence while unmeasured), category names of known scales and the
crack width band of each category."""
from __future__ import annotations

from monitor.values import finite

# BGR. Categories 0..5 of a six-step scale (BRE Digest 251 style): green -> purple.
SEVERITY_COLOURS = {
    0: (80, 175, 76),
    1: (57, 200, 190),
    2: (7, 180, 255),
    3: (34, 100, 245),
    4: (47, 47, 211),
    5: (162, 31, 123),
}
BEYOND_SCALE = (70, 20, 70)
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


def strip_category(label: str) -> str:
    """'1 very slight' -> 'very slight': the legend puts the category number in front itself."""
    head, _, rest = label.partition(" ")
    return rest if head.isdigit() and rest else label


def width_bands(scale_name: str) -> dict[int, str]:
    """Category -> its crack width band, e.g. {1: '0.1-1 mm'}, for scales the edge knows ({} otherwise)."""
    from edge.frame.severity import SCALES

    table = SCALES.get(scale_name)
    if not table:
        return {}
    bands, lower = {}, None
    for category, (upper, _) in enumerate(table):
        if lower is None:
            bands[category] = f"<{upper:g} mm"
        elif upper == float("inf"):
            bands[category] = f">{lower:g} mm"
        else:
            bands[category] = f"{lower:g}-{upper:g} mm"
        lower = upper
    return bands
