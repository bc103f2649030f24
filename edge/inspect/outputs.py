"""What `python -m edge inspect` writes into its folder: overlays/ (every photo with its cracks drawn),
cracks.csv (one row per crack) and report.html (the shared template, edge/report), report.pdf on request."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Dict, List, Optional

import cv2

from edge.inspect.overlay import crop, draw, jpeg, numbered
from edge.inspect.run import Inspection, Photo
from edge.report.colours import severity_hex
from edge.report.render import DASH, data_uri, optional_text, write_html
from edge.report.severity import severity_rows

CSV_COLUMNS = ["photo", "crack", "overlay", "units", "length", "width_max", "width_mean", "width_p95",
               "orientation_deg", "below_resolution", "severity_scale", "severity_category", "severity_label",
               "confidence", "x0_px", "y0_px", "x1_px", "y1_px"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs such a cell as a formula


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _overlay_names(photos: List[Photo]) -> Dict[Path, str]:
    """overlays/<stem>.jpg per photo, numbered where two photos share a stem."""
    names: Dict[Path, str] = {}
    taken = set()
    for photo in photos:
        stem, n = photo.path.stem, 1
        name = f"{stem}.jpg"
        while name in taken:
            n += 1
            name = f"{stem}_{n}.jpg"
        taken.add(name)
        names[photo.path] = name
    return names


def _crack_row(photo: Photo, number: int, report: dict, overlay: str, units: str, scaled: bool) -> dict:
    sev = (report.get("severity") or {}) if scaled else {}
    x0, y0, x1, y1 = report["frame"]["bbox_px"]
    return {"photo": photo.path.name, "crack": f"{photo.path.stem}-{number}", "overlay": overlay, "units": units,
            "length": report.get("length_mm"), "width_max": report.get("width_max_mm"),
            "width_mean": report.get("width_mean_mm"), "width_p95": report.get("width_p95_mm"),
            "orientation_deg": report.get("orientation_deg"), "below_resolution": report.get("below_resolution"),
            "severity_scale": sev.get("scale"), "severity_category": sev.get("category"),
            "severity_label": sev.get("label"), "confidence": report.get("confidence"),
            "x0_px": x0, "y0_px": y0, "x1_px": x1, "y1_px": y1}


def write_overlays(result: Inspection, out: Path) -> List[dict]:
    """Each analysed photo drawn into out/overlays/; returns one row per crack (CSV_COLUMNS, plus the
    report crop as `crop_jpeg`)."""
    scaled = result.mm_per_px is not None
    units = "mm" if scaled else "px"
    folder = out / "overlays"
    folder.mkdir(parents=True, exist_ok=True)
    names = _overlay_names(result.photos)
    rows: List[dict] = []
    for photo in result.photos:
        if not photo.analysed:
            continue
        bgr = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
        if bgr is None:  # gone or changed since the run
            continue
        reports = numbered(photo.reports)
        drawing = draw(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), reports, photo.masks, units, scaled)
        data = jpeg(drawing)
        if data is not None:
            (folder / names[photo.path]).write_bytes(data)
        for number, report in enumerate(reports, 1):
            row = _crack_row(photo, number, report, f"overlays/{names[photo.path]}", units, scaled)
            row["crop_jpeg"] = jpeg(crop(drawing, tuple(report["frame"]["bbox_px"])), 82)
            rows.append(row)
    return rows


def write_csv(rows: List[dict], path: Path) -> Path:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def _photo_note(photo: Photo) -> str:
    if photo.index is None:
        return "not read (unreadable, or over pipeline.max_frame_pixels)"
    return "" if photo.analysed else "not analysed: blurred (blur.min_laplacian_var)"


def _worst_first(rows: List[dict]) -> List[dict]:
    return sorted(rows, key=lambda r: (r["severity_category"] is None, -(r["severity_category"] or 0),
                                       -(r["width_max"] or 0.0), r["crack"]))


def report_context(result: Inspection, rows: List[dict], models: List[dict], header: dict,
                   segment: str) -> dict:
    """The report template's context (edge/report/report.html.j2) of an inspection."""
    scaled = result.mm_per_px is not None
    names = _overlay_names(result.photos)
    stamps = sorted(p.path.stat().st_mtime for p in result.photos if p.path.exists())
    day = "%Y-%m-%d"
    folders = sorted({str(p.path.parent) for p in result.photos})
    analysed = sum(p.analysed for p in result.photos)
    notes = [f"{analysed} of {len(result.photos)} photos analysed; tiles segmented: {segment}"
             + (" (every tile)." if segment == "all" else ".")]
    if not scaled:
        notes.append("No scale was given (--mm-per-px): sizes are in pixels and no severity is given.")
    cracks = [{"id": r["crack"], "source": r["photo"], "category": r["severity_category"],
               "severity": r["severity_label"] or ("unmeasured" if scaled else "no scale"),
               "colour": severity_hex(r["severity_category"]) if scaled else "#ff00c8",
               "length": r["length"], "width_max": r["width_max"], "width_mean": r["width_mean"],
               "width_p95": r["width_p95"], "confidence": r["confidence"], "state": "",
               "position": f"x {r['x0_px']}-{r['x1_px']}, y {r['y0_px']}-{r['y1_px']}",
               "crop_uri": data_uri(r["crop_jpeg"]) if r.get("crop_jpeg") else None, "evidence": None}
              for r in _worst_first(rows)]
    return {
        "title": header.get("title") or "Crack inspection report",
        "site": optional_text(header.get("site")), "structure": optional_text(header.get("structure")),
        "inspector": optional_text(header.get("inspector")),
        "date_from": time.strftime(day, time.localtime(stamps[0])) if stamps else DASH,
        "date_to": time.strftime(day, time.localtime(stamps[-1])) if stamps else DASH,
        "source": f"{len(result.photos)} photos (file dates) from {', '.join(folders)}",
        "robots": [], "models": models,
        "scale": f"{result.mm_per_px:g} mm per pixel" if scaled else "none given: sizes in pixels",
        "severity_scale": rows[0]["severity_scale"] if rows and rows[0]["severity_scale"] else
        ("BRE-Digest-251" if scaled else "none (no scale)"),
        "units": "mm" if scaled else "px", "position_header": "box in the photo, px",
        "severity": severity_rows([r["severity_category"] for r in rows], "BRE-Digest-251") if scaled else [],
        "notes": notes, "maps": [],
        "photos": [{"name": p.path.name, "href": f"overlays/{names[p.path]}" if p.analysed else None,
                    "cracks": len(p.reports), "note": _photo_note(p)} for p in result.photos],
        "cracks": cracks,
    }


def write_report(result: Inspection, rows: List[dict], models: List[dict], header: dict, segment: str,
                 out: Path, pdf: bool) -> tuple:
    """(report.html, report.pdf or None, the one line saying why there is no PDF or None)."""
    html = write_html(out / "report.html", report_context(result, rows, models, header, segment))
    if not pdf:
        return html, None, None
    from edge.report.browser import print_pdf

    note = print_pdf(html, out / "report.pdf")
    return html, (out / "report.pdf") if note is None else None, note


def summary(result: Inspection, rows: List[dict], written: Dict[str, Optional[str]]) -> dict:
    """What --json writes: counts, time, files and every crack's figures."""
    n = len(result.photos)
    return {
        "photos": n, "photos_analysed": sum(p.analysed for p in result.photos),
        "photos_with_cracks": sum(bool(p.reports) for p in result.photos), "cracks": len(rows),
        "units": "mm" if result.mm_per_px is not None else "px", "mm_per_px": result.mm_per_px,
        "seconds": round(result.seconds, 3), "seconds_per_photo": round(result.seconds / n, 4) if n else None,
        "run": result.summary, "written": written,
        "cracks_found": [{k: r.get(k) for k in CSV_COLUMNS} for r in rows],
    }
