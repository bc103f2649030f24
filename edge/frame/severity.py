"""Named severity scales from crack width. A scale is a table of (upper width in mm, label)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

# BRE Digest 251 (masonry): category by crack width.
BRE_DIGEST_251: List[Tuple[float, str]] = [
    (0.1, "0 negligible"),
    (1.0, "1 very slight"),
    (5.0, "2 slight"),
    (15.0, "3 moderate"),
    (25.0, "4 severe"),
    (float("inf"), "5 very severe"),
]

SCALES: Dict[str, List[Tuple[float, str]]] = {"BRE-Digest-251": BRE_DIGEST_251}


def classify_width(width_mm: Optional[float], scale: str = "BRE-Digest-251") -> dict:
    """{"scale", "category", "label"}; category and label are None while the width is unknown."""
    table = SCALES[scale]
    if width_mm is None:
        return {"scale": scale, "category": None, "label": None}
    # Category 0 is "under" its bound; every other category runs "up to" its bound, inclusive.
    for category, (upper, label) in enumerate(table):
        if width_mm < upper or (category > 0 and width_mm <= upper):
            return {"scale": scale, "category": category, "label": label}
    raise ValueError(f"width {width_mm} mm is outside the {scale} scale")


def width_bands(scale_name: str, under: str = "<", over: str = ">") -> Dict[int, str]:
    """Category -> its crack width band, e.g. {1: '0.1-1 mm'}; {} for a scale not known here. `under` and
    `over` word the open ends ('<0.1 mm' on a map legend, 'under 0.1 mm' in a report)."""
    bands, lower = {}, None
    for category, (upper, _) in enumerate(SCALES.get(scale_name) or []):
        if lower is None:
            bands[category] = f"{under}{upper:g} mm"
        elif upper == float("inf"):
            bands[category] = f"{over}{lower:g} mm"
        else:
            bands[category] = f"{lower:g}-{upper:g} mm"
        lower = upper
    return bands


def label_name(label: str) -> str:
    """'1 very slight' -> 'very slight': legends and tables put the category number in front themselves."""
    head, _, rest = label.partition(" ")
    return rest if head.isdigit() and rest else label
