"""Stored values read back defensively: a registry written by an older or unchecked monitor may hold
numbers no event schema would let in now (1e308, Infinity, a ts in the year 10^12). Exports, maps
and reports go through these helpers so such a value becomes an empty cell, never an exception or
an endless loop."""
from __future__ import annotations

import math
import time
from typing import Any

from edge.jsonsafe import clean  # noqa: F401  (re-exported for the exports)

# Wall coordinates within 1000 km of the origin: the event schema's bound (edge/comms/schemas/event.schema.json).
MAX_MM = 1e9
MAX_TS = 1e10  # seconds since the epoch, the year 2286; the schema's bound too


def finite(value: Any, limit: float = float("inf")) -> float | None:
    """value as a float when it is a finite number within +-limit, else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and abs(number) <= limit else None


def format_time(ts: Any, fmt: str, utc: bool = True) -> str:
    """strftime of a stored timestamp; '' when it is not a time gmtime can take."""
    seconds = finite(ts, MAX_TS)
    if seconds is None:
        return ""
    try:
        return time.strftime(fmt, time.gmtime(seconds) if utc else time.localtime(seconds))
    except (OverflowError, ValueError, OSError):
        return ""
