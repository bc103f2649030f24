"""Headless Chromium for the report: print it to PDF (A4, as its print CSS says) and take screenshots
(the report's test and the README's picture). Debian's package is `chromium`; Chrome works as well."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TIMEOUT_S = 120.0


def find_browser() -> Optional[str]:
    """The headless-capable browser on PATH (or $CRACKBOT_CHROMIUM); None when there is none."""
    given = os.environ.get("CRACKBOT_CHROMIUM")
    if given:
        return shutil.which(given)
    return next((found for found in map(shutil.which, NAMES) if found), None)


def _run(browser: str, args: Sequence[str], page: Path) -> Optional[str]:
    """Run the browser on a page; None when it worked, else one line saying why not."""
    with tempfile.TemporaryDirectory(prefix="crackbot-chromium-") as profile:
        # --no-sandbox: root in a container has no user namespaces for the sandbox; the page is our own file.
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{Path(browser).name} failed: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"{Path(browser).name} exited {done.returncode}: {last[:200]}"
    return None


def print_pdf(html: Path, pdf: Path, browser: Optional[str] = None) -> Optional[str]:
    """Print the HTML page to a PDF; None when written, else one line saying why not (no browser, a failure)."""
    browser = browser or find_browser()
    if browser is None:
        return "no PDF: no Chromium found (apt install chromium, or set CRACKBOT_CHROMIUM); the HTML is written"
    pdf = Path(pdf)
    pdf.unlink(missing_ok=True)
    why = _run(browser, [f"--print-to-pdf={pdf.resolve()}", "--no-pdf-header-footer"], Path(html))
    if why is None and not (pdf.is_file() and pdf.stat().st_size > 0):
        why = f"{Path(browser).name} wrote no PDF"
    return None if why is None else f"no PDF: {why}; the HTML is written"


def screenshot(html: Path, png: Path, width: int = 1000, height: int = 1400,
               browser: Optional[str] = None) -> Optional[str]:
    """A PNG of the page's first `height` pixels at `width`; None when written, else one line saying why not."""
    browser = browser or find_browser()
    if browser is None:
        return "no screenshot: no Chromium found (apt install chromium, or set CRACKBOT_CHROMIUM)"
    png = Path(png)
    png.unlink(missing_ok=True)
    why = _run(browser, [f"--screenshot={png.resolve()}", f"--window-size={width},{height}"], Path(html))
    if why is None and not png.is_file():
        why = f"{Path(browser).name} wrote no screenshot"
    return why


def main(argv=None) -> int:
    """`python -m edge.report.browser REPORT.html --png OUT.png [--size 1000x1400] [--pdf OUT.pdf]`."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m edge.report.browser",
                                description="Screenshot a report (or print it to PDF) with headless Chromium.")
    p.add_argument("html", type=Path, help="the report's HTML file")
    p.add_argument("--png", type=Path, help="write a screenshot of the page's top here")
    p.add_argument("--size", default="1000x1400", metavar="WxH", help="screenshot window (default 1000x1400)")
    p.add_argument("--pdf", type=Path, help="print the page to this PDF (A4)")
    args = p.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"error: --size {args.size!r} is not WIDTHxHEIGHT", file=sys.stderr)
        return 2
    if not args.html.is_file():
        print(f"error: no such file: {args.html}", file=sys.stderr)
        return 2
    problems = [why for why in (args.png and screenshot(args.html, args.png, width, height),
                                args.pdf and print_pdf(args.html, args.pdf)) if why]
    for why in problems:
        print(why, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
