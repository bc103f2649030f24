"""The inspection report's template: filled from any values, printed to PDF and looked at in a real
browser (headless Chromium; those tests skip where none is installed: `make test` installs it)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.report import browser
from edge.report.colours import SEVERITY_RGB, severity_hex
from edge.report.render import num, render_html, write_html
from edge.report.severity import severity_rows

pytest.importorskip("jinja2")
BROWSER = browser.find_browser()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium (apt install chromium)")


def _context(n_per_category: int = 2) -> dict:
    cracks = [{"id": f"c-{cat}-{i}", "source": "rb-01", "category": cat, "severity": f"{cat}",
               "colour": severity_hex(cat), "length": 100.0 * (cat + 1), "width_max": float(cat), "width_mean": 0.5,
               "width_p95": None, "position": "10, 20", "confidence": 0.9, "state": "ended", "crop_uri": None,
               "evidence": None} for cat in range(6) for i in range(n_per_category)]
    return {"title": "Bridge <inspection>", "site": "Harbour Road", "structure": "pier 3", "inspector": "A. Engineer",
            "date_from": "2025-01-01", "date_to": "2025-01-02", "source": "registry", "robots": [],
            "models": [{"name": "crack_segmenter", "sha256": "ab" * 32}], "scale": "0.2 mm per pixel",
            "severity_scale": "BRE-Digest-251", "units": "mm", "position_header": "centre x, y mm", "notes": [],
            "severity": severity_rows([c["category"] for c in cracks] + [None], "BRE-Digest-251"),
            "maps": [], "photos": [], "cracks": cracks}


def test_header_counts_and_escaping():
    html = render_html(_context())
    assert "Bridge &lt;inspection&gt;" in html and "<inspection>" not in html
    assert "Harbour Road" in html and "pier 3" in html and "A. Engineer" in html and "ab" * 32 in html
    assert "@page{size:A4" in html and "break-before:page" in html
    assert html.count("<td>c-") == 12 and "unmeasured" in html
    for colour in map(severity_hex, range(6)):
        assert colour in html


def test_figures_take_anything():
    assert [num(v) for v in (None, "x", float("nan"), float("inf"), True)] == ["\u2013"] * 5
    assert num(1e308, 0).startswith("100,000") and num(2.345, 2) == "2.35"
    assert severity_rows([1, 1, None, 99], "BRE-Digest-251")[1]["count"] == 2
    assert [r["label"] for r in severity_rows([99, None], "BRE-Digest-251")][-2:] == ["off the scale", "unmeasured"]
    assert severity_hex(123456789012) == severity_hex(7) == "#461446"


def test_no_browser_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(browser, "find_browser", lambda: None)
    html = write_html(tmp_path / "r.html", _context())
    note = browser.print_pdf(html, tmp_path / "r.pdf")
    assert note.startswith("no PDF: no Chromium found") and "\n" not in note
    assert html.is_file() and not (tmp_path / "r.pdf").exists()


@needs_browser
def test_prints_to_pdf(tmp_path):
    html = write_html(tmp_path / "r.html", _context())
    assert browser.print_pdf(html, tmp_path / "r.pdf") is None
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


@needs_browser
def test_renders_in_chromium_with_the_severity_colours(tmp_path):
    html = write_html(tmp_path / "r.html", _context(n_per_category=1))
    assert browser.screenshot(html, tmp_path / "r.png", width=900, height=1400) is None
    shot = cv2.cvtColor(cv2.imread(str(tmp_path / "r.png")), cv2.COLOR_BGR2RGB)
    assert shot.shape[:2] == (1400, 900)
    assert (shot.reshape(-1, 3).std(axis=0) > 20).all()  # text and tables drawn, not a blank page
    pixels = shot.reshape(-1, 3).astype(int)
    for category, rgb in SEVERITY_RGB.items():  # each severity's swatch is on screen in its own colour
        near = (np.abs(pixels - np.array(rgb)).max(axis=1) <= 3).sum()
        assert near >= 50, (category, rgb, near)
