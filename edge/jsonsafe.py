"""JSON that is JSON: Python's json writes NaN and Infinity by default, which no other parser reads
and which break a subscriber's exports. Everything the robot and the monitor write goes through
allow_nan=False; summaries, whose numbers are measurements that may be undefined, are cleaned first."""
from __future__ import annotations

import json
import math
from typing import Any


def clean(value: Any) -> Any:
    """value with every non-finite float (NaN, +-Infinity), at any depth, replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    return value


def dumps(value: Any, **kw) -> str:
    """json.dumps of value with NaN and Infinity as null (for summaries and reports, not events)."""
    return json.dumps(clean(value), allow_nan=False, **kw)
