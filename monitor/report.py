"""The HTML inspection report: one self-contained file with the crack maps, a table of every crack
(worst first) and the evidence crops.

Evidence is what events name in their optional `evidence` field, and events come from the network,
so the field is untrusted: a file path (absolute, or relative to evidence_root) is embedded only
when, with every `..` and symbolic link resolved, it lies under evidence_root (no root: nothing is
embedded), so an event cannot make the report carry a file of the monitor host. An http(s) URL is a
plain link (never an <img>: opening the report fetches nothing); any other URL scheme is text.
"""
from __future__ import annotations

import base64
import html
import re
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from monitor import MonitorError
from monitor.args import Parser
from monitor.palette import severity_colour

MAX_EMBED_BYTES = 5 * 1024 * 1024
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?![\\/])")  # scheme:..., not C:\ or C:/
_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:14px}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f2ee}td.num{text-align:right}img.map{max-width:100%;border:1px solid #ccc}
img.crop{max-width:220px;max-height:160px}.sev{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.muted{color:#777}
"""


def _local_time(ts) -> str:
    """Local date and time of an epoch timestamp; empty when there is none."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: float | None, digits: int = 1) -> str:
    return "&ndash;" if value is None else f"{value:.{digits}f}"


def _data_uri(path: Path) -> str | None:
    kind = _IMAGE_TYPES.get(path.suffix.lower())
    try:
        if kind is None or not path.is_file() or path.stat().st_size > MAX_EMBED_BYTES:
            return None
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"
    except OSError:
        return None


def _under_root(evidence: str, evidence_root: Path | None) -> Path | None:
    """The evidence file when it resolves to a place under evidence_root, else None."""
    if evidence_root is None:
        return None
    try:
        root = Path(evidence_root).resolve()
        path = (root / evidence).resolve()  # an absolute evidence path replaces root here
        path.relative_to(root)
    except (OSError, ValueError, RuntimeError):  # outside the root, a symlink loop, a NUL byte
        return None
    return path


def evidence_html(evidence: str | None, evidence_root: Path | None = None) -> str:
    """The evidence cell: an image embedded from under evidence_root, a link, or the text."""
    if not evidence:
        return '<span class="muted">none</span>'
    if evidence.startswith(("http://", "https://")):
        url = _e(evidence)
        return f'<a href="{url}" rel="noopener noreferrer nofollow">{url}</a>'
    if _URL_SCHEME.match(evidence):  # file:, data:, javascript: ...: never followed
        return f'<span class="muted">not embedded: {_e(evidence)}</span>'
    path = _under_root(evidence, evidence_root)
    uri = _data_uri(path) if path is not None else None
    if uri is None:
        why = "no evidence root given" if evidence_root is None else "not under the evidence root"
        if path is not None:
            why = "not on this machine"
        return f'<span class="muted">{why}: {_e(evidence)}</span>'
    return f'<img class="crop" src="{uri}" alt="evidence crop {_e(path.name)}">'


def _severity_colour(category: int | None) -> str:
    b, g, r = severity_colour(category)
    return f"#{r:02x}{g:02x}{b:02x}"


def worst_first(cracks: Sequence[dict]) -> list[dict]:
    """Highest severity first, then widest; unmeasured cracks last."""
    return sorted(cracks, key=lambda c: (c.get("severity_category") is None, -(c.get("severity_category") or 0),
                                         -(c.get("width_max_mm") or 0.0), c.get("robot_id") or "",
                                         c.get("crack_id") or ""))


def render_report(cracks: Sequence[dict], robots: Sequence[dict] = (), maps: Mapping[str, Path] | None = None,
                  title: str = "crackbot inspection report", evidence_root: Path | None = None) -> str:
    rows = []
    for c in worst_first(cracks):
        centre = c.get("center_mm")
        where = f"{centre[0]:.0f}, {centre[1]:.0f}" if centre else "&ndash;"
        sev = c.get("severity_category")
        label = (
            f"{sev} {_e(c.get('severity_label') or '')}" if sev is not None else '<span class="muted">unmeasured</span>'
        )
        rows.append(
            f"<tr><td><span class=\"sev\" style=\"background:{_severity_colour(sev)}\"></span>{label}</td>"
            f"<td>{_e(c['robot_id'])}</td><td>{_e(c['crack_id'])}</td><td>{_e(c.get('wall_id') or '')}</td>"
            f"<td class=num>{_num(c.get('width_max_mm'), 2)}</td><td class=num>{_num(c.get('width_mean_mm'), 2)}</td>"
            f"<td class=num>{_num(c.get('length_mm'), 0)}</td><td class=num>{where}</td>"
            f"<td class=num>{_num(c.get('confidence'), 2)}</td><td>{_e(c.get('state'))}</td>"
            f"<td>{evidence_html(c.get('evidence'), evidence_root)}</td></tr>")
    robot_rows = "".join(
        f"<tr><td>{_e(r['robot_id'])}</td><td>{_e(r.get('state') or 'unknown')}</td>"
        f"<td>{_e(_local_time(r.get('last_seen')))}</td>"
        f"<td class=num>{sum(1 for c in cracks if c['robot_id'] == r['robot_id'])}</td></tr>"
        for r in robots
    )
    map_html = []
    for wall, path in (maps or {}).items():
        uri = _data_uri(Path(path))
        if uri:
            map_html.append(f"<h3>{_e(wall)}</h3><img class=map src=\"{uri}\" alt=\"crack map of {_e(wall)}\">")
    measured = sum(1 for c in cracks if c.get("severity_category") is not None)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{_e(title)}</title><style>{_STYLE}</style></head>'
        f"<body><h1>{_e(title)}</h1>"
        f"<p>{len(cracks)} cracks ({measured} measured) from {len(robots)} robot(s); "
        f"written {_e(time.strftime('%Y-%m-%d %H:%M:%S %Z'))}. Positions are mm from the wall origin "
        f"(top left), x right, y down.</p>"
        f"<h2>Robots</h2><table><tr><th>robot</th><th>state</th><th>last "
        f"heard</th><th>cracks</th></tr>{robot_rows}</table>"
        f"<h2>Crack maps</h2>{''.join(map_html) or '<p class=muted>no map</p>'}"
        f"<h2>Cracks, worst first</h2><table><tr><th>severity</th><th>robot</th><th>crack</th><th>wall</th>"
        f"<th>width max mm</th><th>width mean mm</th><th>length mm</th><th>centre x, y mm</th><th>confidence</th>"
        f"<th>state</th><th>evidence</th></tr>{''.join(rows)}</table></body></html>\n"
    )


def write_report(path, cracks: Sequence[dict], robots: Sequence[dict] = (), maps: Mapping[str, Path] | None = None,
                 title: str = "crackbot inspection report", evidence_root: Path | None = None) -> Path:
    path = Path(path)
    text = render_report(cracks, robots, maps, title, evidence_root)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MonitorError(f"cannot write the report {path}: {exc.strerror or exc}") from exc
    return path


def write_outputs(registry, robot_id: str | None = None, *, csv_path=None, geojson_path=None, maps_dir=None,
                  report_path=None, wall_size_mm=None, title: str | None = None,
                  evidence_root: Path | None = None) -> dict[str, Any]:
    """Every export the user asked for, from the registry; returns what was written (paths as strings)."""
    from monitor.crackmap import draw_wall_maps
    from monitor.exports import write_csv, write_geojson

    cracks = registry.cracks(robot_id)
    robots = [r for r in registry.robots() if robot_id is None or r["robot_id"] == robot_id]
    written: dict[str, Any] = {}
    if csv_path is not None:
        written["csv"] = str(write_csv(cracks, csv_path))
    if geojson_path is not None:
        written["geojson"] = str(write_geojson(cracks, geojson_path))
    maps: dict[str, Path] = {}
    if maps_dir is not None:
        maps = draw_wall_maps(cracks, maps_dir, wall_size_mm=wall_size_mm, title=title)
        written["maps"] = {wall: str(path) for wall, path in maps.items()}
    if report_path is not None:
        if not maps:  # the report shows the maps: draw them next to it
            maps = draw_wall_maps(cracks, Path(report_path).parent / "maps", wall_size_mm=wall_size_mm, title=title)
            written["maps"] = {wall: str(path) for wall, path in maps.items()}
        written["report"] = str(write_report(report_path, cracks, robots, maps, title or "crackbot inspection report",
                                             evidence_root))
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m monitor.report``: exports from an existing registry file, no broker needed."""
    import sys

    p = Parser(prog="python -m monitor.report",
               description="Write the HTML report, CSV, GeoJSON and per-wall crack maps "
                           "from a crack registry (the --db file of python -m monitor).")
    p.add_argument("--db", required=True, type=Path, help="registry SQLite file")
    p.add_argument("--out", required=True, type=Path, help="folder for report.html, cracks.csv, cracks.geojson, maps/")
    p.add_argument("--robot", metavar="ID", help="one robot only (default: every robot)")
    p.add_argument("--wall-width-mm", type=float, help="wall width for the maps (with --wall-height-mm)")
    p.add_argument("--wall-height-mm", type=float, help="wall height for the maps")
    p.add_argument("--title", help="report and map title")
    p.add_argument("--evidence-root", type=Path, help="folder of the evidence crops: only images under it are "
                   "embedded, relative evidence paths are taken from it (default: none embedded)")
    args = p.parse_args(argv)
    from monitor.registry import Registry

    try:
        if not args.db.is_file():
            raise MonitorError(f"no registry at {args.db}")
        from monitor.crackmap import require_opencv

        require_opencv()
        if (args.wall_width_mm is None) != (args.wall_height_mm is None):
            raise MonitorError("give both --wall-width-mm and --wall-height-mm, or neither")
        wall = (args.wall_width_mm, args.wall_height_mm) if args.wall_width_mm else None
        args.out.mkdir(parents=True, exist_ok=True)
        with Registry(args.db) as registry:
            written = write_outputs(registry, args.robot, csv_path=args.out / "cracks.csv",
                                    geojson_path=args.out / "cracks.geojson", maps_dir=args.out / "maps",
                                    report_path=args.out / "report.html", wall_size_mm=wall, title=args.title,
                                    evidence_root=args.evidence_root)
    except (MonitorError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report -> {written['report']}; csv -> {written['csv']}; geojson -> {written['geojson']}; "
          f"maps: {', '.join(written['maps'].values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
