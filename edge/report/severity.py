"""The report's severity table: every category of the scale with its width band, its colour and how
many cracks fall in it, plus the unmeasured ones."""
from __future__ import annotations

from typing import Dict, List, Sequence

from edge.frame.severity import SCALES, label_name, width_bands
from edge.report.colours import severity_hex


def severity_rows(categories: Sequence, scale_name: str) -> List[dict]:
    """One row per category of the scale (and per category met that the scale lacks), then the unmeasured:
    {category, label, band, colour, count}. `categories`: each crack's category, None when unmeasured."""
    counts: Dict[object, int] = {}
    for category in categories:
        counts[category] = counts.get(category, 0) + 1
    table = SCALES.get(scale_name) or []
    bands = width_bands(scale_name, under="under ", over="over ")
    rows = [{"category": c, "label": label_name(label), "band": bands[c], "colour": severity_hex(c),
             "count": counts.pop(c, 0)} for c, (_, label) in enumerate(table)]
    unmeasured = counts.pop(None, 0)
    for category, count in sorted(counts.items(), key=lambda kv: str(kv[0])):
        rows.append({"category": category, "label": "off the scale", "band": "", "colour": severity_hex(category),
                     "count": count})
    if unmeasured:
        rows.append({"category": None, "label": "unmeasured", "band": "no width (no segmenter, or no scale)",
                     "colour": severity_hex(None), "count": unmeasured})
    return rows
