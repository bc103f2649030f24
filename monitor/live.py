"""The live crack table for a terminal: worst cracks first, redrawn in place every second or so."""
from __future__ import annotations

import time
from typing import Any, Sequence

from edge.frame.severity import label_name
from monitor.report import worst_first
from monitor.values import MAX_MM, finite, format_time

CLEAR = "\x1b[H\x1b[2J"  # cursor home + clear screen (ANSI); only used on a terminal
_COLUMNS = [("robot", 10), ("crack", 20), ("wall", 8), ("state", 7), ("severity", 16), ("width mm", 8),
            ("length mm", 9), ("x, y mm", 13), ("conf", 4), ("seen", 8)]


def _cell(text: Any, width: int, right: bool = False) -> str:
    text = str(text)
    if len(text) > width:
        text = text[: width - 1] + "~"
    return text.rjust(width) if right else text.ljust(width)


def _fmt(value: float | None, digits: int) -> str:
    value = finite(value, MAX_MM)  # a stored 1e308 would print 300 digits
    return "-" if value is None else f"{value:.{digits}f}"


def _robot_cell(robot: str, summary: dict) -> str:
    """'rb-1 online 12.5 fps backlog 0 paused' from its status, last telemetry and command answers."""
    text = f"{robot} {summary['status'][robot]['state']}"
    telemetry = summary.get("telemetry", {}).get(robot)
    if telemetry:
        text += f" {telemetry['fps']:.1f} fps backlog {telemetry['outbox_backlog']}"
    if summary.get("controls", {}).get(robot, {}).get("paused"):
        text += " PAUSED"
    return text


def render_table(cracks: Sequence[dict], summary: dict | None = None, max_rows: int = 30) -> str:
    """The table as text: a header line of counts, then one line per crack (worst first)."""
    lines = []
    if summary is not None:
        robots = ", ".join(_robot_cell(r, summary) for r in sorted(summary.get("status", {}))) or "none yet"
        lines.append(f"crackbot monitor  {time.strftime('%H:%M:%S')}  events {summary.get('events_received', 0)}"
                     f"  duplicates {summary.get('duplicates_dropped', 0)}  invalid {summary.get('invalid', 0)}"
                     f"  robots: {robots}")
    lines.append(" ".join(_cell(name, w, i >= 5) for i, (name, w) in enumerate(_COLUMNS)))
    ordered = worst_first(cracks)
    for c in ordered[:max_rows]:
        sev = c.get("severity_category")
        severity = f"{sev} {label_name(c.get('severity_label') or '')}" if sev is not None else "unmeasured"
        centre = c.get("center_mm")
        cells = [c["robot_id"], c["crack_id"], c.get("wall_id") or "-", c.get("state") or "-", severity,
                 _fmt(c.get("width_max_mm"), 2), _fmt(c.get("length_mm"), 0),
                 f"{_fmt(centre[0], 0)}, {_fmt(centre[1], 0)}" if centre else "-", _fmt(c.get("confidence"), 2),
                 format_time(c.get("last_ts"), "%H:%M:%S", utc=False) or "-"]
        lines.append(" ".join(_cell(v, w, i >= 5) for i, (v, (_, w)) in enumerate(zip(cells, _COLUMNS))))
    if len(ordered) > max_rows:
        lines.append(f"... and {len(ordered) - max_rows} more cracks")
    if not ordered:
        lines.append("(no cracks yet)")
    return "\n".join(lines)
