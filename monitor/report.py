"""The inspection report from the crack registry: the shared template (edge/report/report.html.j2: header,
counts by severity, crack maps, every crack worst first with its evidence crop) filled from registry rows,
one self-contained HTML file, printed to PDF on request (edge/report/browser.py).

A crop the registry received over MQTT (Registry.evidence_jpeg, where the registry has it) is embedded
as it is: JPEG bytes in a data: URI, never a path. Otherwise the event's `evidence` field is used.

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
from pathlib import Path
from typing import Any, Mapping, Sequence

from edge import jsonsafe
from edge.errors import CrackbotError
from edge.report.render import DASH, ReportError, data_uri, local_time, markup, num, optional_text, render_html, \
    write_html
from edge.report.severity import severity_rows
from monitor import MonitorError
from monitor.args import Parser
from monitor.palette import severity_colour

MAX_EMBED_BYTES = 5 * 1024 * 1024
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?![\\/])")  # scheme:..., not C:\ or C:/
_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))

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

def stored_crop(registry, crack: dict) -> str | None:
    """The newest evidence crop the registry received over MQTT as a data: URI, where the registry keeps
    crops (Registry.evidence_jpeg); None otherwise, and for anything that is not a JPEG of sane size."""
    fetch = getattr(registry, "evidence_jpeg", None)
    if fetch is None:
        return None
    try:
        data = fetch(crack.get("robot_id"), crack.get("crack_id"))
    except Exception:  # noqa: BLE001 - a stored crop the registry cannot read leaves the report to the path
        return None
    if not isinstance(data, (bytes, bytearray)) or not data.startswith(b"\xff\xd8") or len(data) > MAX_EMBED_BYTES:
        return None
    return data_uri(bytes(data), "image/jpeg")

def _severity_text(c: dict) -> str:
    sev, label = c.get("severity_category"), c.get("severity_label") or ""
    if sev is None:
        return "unmeasured"
    return label if label.split(" ")[0] == str(sev) else f"{sev} {label}".strip()

def _position(c: dict) -> str:
    centre = c.get("center_mm") or [None, None]
    if num(centre[0], 0) == DASH or num(centre[1], 0) == DASH:
        return DASH
    wall = f" ({c['wall_id']})" if c.get("wall_id") else ""
    return f"{num(centre[0], 0)}, {num(centre[1], 0)}{wall}"

def _crack_row(c: dict, evidence_root: Path | None, registry) -> dict:
    crop = stored_crop(registry, c)
    return {"id": c.get("crack_id"), "source": c.get("robot_id"), "category": c.get("severity_category"),
            "severity": _severity_text(c), "colour": _severity_colour(c.get("severity_category")),
            "length": c.get("length_mm"), "width_max": c.get("width_max_mm"), "width_mean": c.get("width_mean_mm"),
            "width_p95": c.get("width_p95_mm"), "position": _position(c), "confidence": c.get("confidence"),
            "state": c.get("state"), "crop_uri": crop,
            "evidence": None if crop else markup(evidence_html(c.get("evidence"), evidence_root))}

def _stamps(cracks: Sequence[dict]) -> list[float]:
    return sorted(t for c in cracks for t in (c.get("first_ts"), c.get("last_ts"))
                  if isinstance(t, (int, float)) and local_time(t) != DASH)

def report_context(cracks: Sequence[dict], robots: Sequence[dict] = (), maps: Mapping[str, Path] | None = None,
                   title: str = "crackbot inspection report", evidence_root: Path | None = None, registry=None,
                   site: str | None = None, structure: str | None = None, inspector: str | None = None,
                   source: str = "crack registry") -> dict[str, Any]:
    """The report template's context (edge/report/report.html.j2) from registry rows."""
    rows = [_crack_row(c, evidence_root, registry) for c in worst_first(cracks)]
    models = sorted({(c.get("model_name"), c.get("model_sha256")) for c in cracks if c.get("model_name")},
                    key=lambda m: (str(m[0]), str(m[1])))
    scales = [c.get("severity_scale") for c in cracks if c.get("severity_scale")]
    scale_name = max(set(scales), key=scales.count) if scales else "BRE-Digest-251"
    stamps = _stamps(cracks)
    map_rows = [{"name": wall, "uri": uri} for wall, path in (maps or {}).items()
                if (uri := _data_uri(Path(path))) is not None]
    return {
        "title": title, "site": optional_text(site), "structure": optional_text(structure),
        "inspector": optional_text(inspector), "source": source,
        "date_from": local_time(stamps[0]) if stamps else DASH, "date_to": local_time(stamps[-1]) if stamps else DASH,
        "robots": [{"robot_id": r["robot_id"], "state": r.get("state") or "unknown",
                    "last_seen": local_time(r.get("last_seen"), "%Y-%m-%d %H:%M:%S"),
                    "cracks": sum(1 for c in cracks if c.get("robot_id") == r["robot_id"])} for r in robots],
        "models": [{"name": name, "sha256": sha or DASH} for name, sha in models],
        "scale": "each robot's own (scale in its config); positions are mm from the wall origin (top left), "
                 "x right, y down",
        "severity_scale": scale_name, "units": "mm", "position_header": "centre x, y mm",
        "severity": severity_rows([c.get("severity_category") for c in cracks], scale_name),
        "notes": [], "maps": map_rows, "photos": [], "cracks": rows,
    }

def render_report(cracks: Sequence[dict], robots: Sequence[dict] = (), maps: Mapping[str, Path] | None = None,
                  title: str = "crackbot inspection report", evidence_root: Path | None = None, registry=None,
                  **header: str | None) -> str:
    """The report's HTML; header: site, structure, inspector."""
    return render_html(report_context(cracks, robots, maps, title, evidence_root, registry, **header))

def write_report(path, cracks: Sequence[dict], robots: Sequence[dict] = (), maps: Mapping[str, Path] | None = None,
                 title: str = "crackbot inspection report", evidence_root: Path | None = None, registry=None,
                 **header: str | None) -> Path:
    try:
        return write_html(path, report_context(cracks, robots, maps, title, evidence_root, registry, **header))
    except ReportError as exc:
        raise MonitorError(str(exc)) from exc

def write_outputs(registry, robot_id: str | None = None, *, csv_path=None, geojson_path=None, maps_dir=None,
                  report_path=None, wall_size_mm=None, title: str | None = None,
                  evidence_root: Path | None = None, header: Mapping[str, str | None] | None = None,
                  pdf: bool = False) -> dict[str, Any]:
    """Every export the user asked for, from the registry; returns what was written (paths as strings).
    header: the report's site, structure and inspector; pdf: print the report to report_path with .pdf
    (where no browser can, `pdf_note` says why in one line and the HTML is still written)."""
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
        report = write_report(report_path, cracks, robots, maps, title or "crackbot inspection report",
                              evidence_root, registry, **(header or {}))
        written["report"] = str(report)
        if pdf:
            from edge.report.browser import print_pdf

            note = print_pdf(report, report.with_suffix(".pdf"))
            written["pdf" if note is None else "pdf_note"] = str(report.with_suffix(".pdf")) if note is None else note
    return written

def add_header_options(p) -> None:
    """--site, --structure, --inspector: the report's header (python -m monitor and monitor.report)."""
    p.add_argument("--site", help="site named in the report's header (e.g. 'Harbour Road bridge')")
    p.add_argument("--structure", help="structure or element inspected (e.g. 'pier 3, north face')")
    p.add_argument("--inspector", help="who inspected, for the report's header")

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
    add_header_options(p)
    p.add_argument("--pdf", action="store_true", help="also print the report to report.pdf with headless Chromium "
                   "(where none is installed, says so and writes the HTML)")
    p.add_argument("--maps", type=Path, metavar="DIR", help="folder for the crack maps (default: OUT/maps)")
    p.add_argument("--json", type=Path, metavar="OUT.json", help="write what was written, as JSON")
    p.add_argument("--evidence-root", type=Path, help="folder of the evidence crops: only images under it are "
                   "embedded, relative evidence paths are taken from it (default: none embedded; crops the "
                   "registry received over MQTT are embedded always)")
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
        header = {"site": args.site, "structure": args.structure, "inspector": args.inspector}
        with Registry(args.db) as registry:
            written = write_outputs(registry, args.robot, csv_path=args.out / "cracks.csv",
                                    geojson_path=args.out / "cracks.geojson", maps_dir=args.maps or args.out / "maps",
                                    report_path=args.out / "report.html", wall_size_mm=wall, title=args.title,
                                    evidence_root=args.evidence_root, header=header, pdf=args.pdf)
        if args.json is not None:
            args.json.write_text(jsonsafe.dumps(written, indent=2) + "\n")
    except (MonitorError, CrackbotError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report -> {written['report']}; csv -> {written['csv']}; geojson -> {written['geojson']}; "
          f"maps: {', '.join(written['maps'].values())}"
          + (f"; pdf -> {written['pdf']}" if "pdf" in written else ""))
    if "pdf_note" in written:
        print(written["pdf_note"], file=sys.stderr)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
