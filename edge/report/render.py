"""The report's HTML from its template and a plain context (see report.html.j2 for every key).

Values come from robots over the network or from a registry written long ago, so the template is
autoescaped and the number filters take anything: None, text, NaN or 1e308 each print as a mark or
a plain figure, never raise."""
from __future__ import annotations

import base64
import math
import time
from pathlib import Path
from typing import Any, Mapping, Optional

from edge.errors import CrackbotError
from edge.extras import require

TEMPLATE = "report.html.j2"
DASH = "\u2013"


class ReportError(CrackbotError):
    """The report could not be written (a folder missing or not writable)."""


def num(value: Any, digits: int = 1) -> str:
    """A figure with `digits` decimals; a dash for None, text, NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return DASH
    return f"{value:,.{digits}f}"


def local_time(ts: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Local date and time of an epoch timestamp; a dash when there is none or it is out of range."""
    try:
        return time.strftime(fmt, time.localtime(float(ts))) if ts else DASH
    except (TypeError, ValueError, OverflowError, OSError):
        return DASH


def data_uri(data: bytes, kind: str = "image/jpeg") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _environment():
    require("jinja2")
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
                             autoescape=True, undefined=jinja2.ChainableUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(num=num, local_time=local_time)
    return env


def render_html(context: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (images are data: URIs; nothing is fetched)."""
    page = dict(context)
    page.setdefault("written", time.strftime("%Y-%m-%d %H:%M %Z"))
    return _environment().get_template(TEMPLATE).render(**page)


def markup(html: str):
    """HTML that a caller built and escaped itself (e.g. the monitor's evidence cell), passed unescaped."""
    require("jinja2")
    from markupsafe import Markup

    return Markup(html)


def write_html(path, context: Mapping[str, Any]) -> Path:
    path = Path(path)
    try:
        path.write_text(render_html(context), encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report {path}: {exc.strerror or exc}") from exc
    return path


def optional_text(value: Optional[str]) -> str:
    """A header field the user may leave out: the text, or a dash."""
    return value.strip() if value and value.strip() else DASH
