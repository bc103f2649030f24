"""Scoring one photo's reports against its mask, and a set's photos together.

A photo's figures, for the truth (the reference measurement of each crack in the mask) and for what
was reported alike: total length (every crack's, added), max width (the widest crack's), mean width
(weighted by length), p95 width (the largest crack p95). All in pixels (the check runs at 1 mm/px).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

# Tolerances, by what is measured: the exact mask through the runtime's measurement, or the models' mask.
TOLERANCES = {
    "exact": {"length_rel": 0.10, "width_max_rel": 0.15, "width_mean_rel": 0.10, "width_px": 1.0},
    "models": {"length_rel": 0.20, "width_max_rel": 0.20, "width_mean_rel": 0.20, "width_px": 1.0},
}


@dataclass(frozen=True)
class Figures:
    length: float
    width_max: float
    width_mean: float
    width_p95: float
    cracks: int


def figures(cracks: Sequence[dict]) -> Optional[Figures]:
    """Cracks as dicts with length, width_max, width_mean, width_p95 (px); None when there is none."""
    measured = [c for c in cracks if c.get("length") is not None]
    if not measured:
        return None
    total = sum(c["length"] for c in measured)
    mean = sum(c["width_mean"] * c["length"] for c in measured) / total if total > 0 else measured[0]["width_mean"]
    return Figures(length=total, width_max=max(c["width_max"] for c in measured), width_mean=mean,
                   width_p95=max(c["width_p95"] for c in measured), cracks=len(measured))


def _within(value: float, truth: float, rel: float, px: float = 0.0) -> bool:
    return abs(value - truth) <= max(px, rel * truth)


def score_photo(truth: Optional[Figures], reported: Optional[Figures], mode: str) -> dict:
    """One photo: found or missed, and each figure's error and whether it is within its tolerance."""
    tol = TOLERANCES[mode]
    row: dict = {"cracked": truth is not None, "found": reported is not None,
                 "truth": truth.__dict__ if truth else None, "reported": reported.__dict__ if reported else None}
    if truth is None or reported is None:
        return row
    row["length_error_rel"] = round(reported.length / truth.length - 1.0, 4) if truth.length > 0 else None
    row["width_max_error_px"] = round(reported.width_max - truth.width_max, 3)
    row["width_mean_error_px"] = round(reported.width_mean - truth.width_mean, 3)
    row["width_p95_error_px"] = round(reported.width_p95 - truth.width_p95, 3)
    row["length_within"] = _within(reported.length, truth.length, tol["length_rel"])
    row["width_max_within"] = _within(reported.width_max, truth.width_max, tol["width_max_rel"], tol["width_px"])
    row["width_mean_within"] = _within(reported.width_mean, truth.width_mean, tol["width_mean_rel"], tol["width_px"])
    row["pass"] = row["length_within"] and row["width_max_within"]
    return row


def _pct(n: int, d: int) -> Optional[float]:
    return round(100.0 * n / d, 1) if d else None


def _median(values: List[float]) -> Optional[float]:
    return round(statistics.median(values), 3) if values else None


def summarize(rows: Sequence[dict]) -> Dict[str, object]:
    """A set's photos with masks: how many were found, and of those found how many are within each
    tolerance; median errors."""
    cracked = [r for r in rows if r["cracked"]]
    found = [r for r in cracked if r["found"]]
    n = len(found)
    return {
        "photos": len(rows),
        "cracked": len(cracked),
        "found": n,
        "found_pct": _pct(n, len(cracked)),
        "length_within_pct": _pct(sum(r["length_within"] for r in found), n),
        "width_max_within_pct": _pct(sum(r["width_max_within"] for r in found), n),
        "width_mean_within_pct": _pct(sum(r["width_mean_within"] for r in found), n),
        "both_within_pct": _pct(sum(r["pass"] for r in found), n),
        "length_error_median_pct": _median(
            [100 * r["length_error_rel"] for r in found if r["length_error_rel"] is not None]
        ),
        "width_max_error_median_px": _median([r["width_max_error_px"] for r in found]),
        "width_mean_error_median_px": _median([r["width_mean_error_px"] for r in found]),
        "width_max_truth_median_px": _median([r["truth"]["width_max"] for r in found]),
        "reports_on_clean_photos": sum(1 for r in rows if not r["cracked"] and r["found"]),
    }


def badness(row: dict) -> float:
    """How wrong a photo went, for picking the worst ones: a missed crack first, then the larger of
    the length and the max width's relative errors."""
    if not row["cracked"]:
        return 10.0 if row["found"] else 0.0
    if not row["found"]:
        return 100.0
    truth = row["truth"]
    return max(abs(row["length_error_rel"] or 0.0), abs(row["width_max_error_px"]) / max(truth["width_max"], 1.0))
