"""The inspect subcommand of `python -m edge`: options, config, run, outputs, one line at the end."""
from __future__ import annotations

import time
from pathlib import Path

from edge import jsonsafe
from edge.config import load_config
from edge.extras import require
from edge.inspect.camera import photo_files
from edge.inspect.outputs import summary, write_csv, write_overlays, write_report
from edge.inspect.run import inspect_photos
from edge.models.bundle import load_bundle

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "firmware_configs" / "rpi4.yaml"
# The default: the shipped models, every tile segmented (recall matters on a user's photos, see __init__).
DEFAULT_SETTINGS = [
    f"models.classifier={REPO / 'models' / 'crack_classifier'}",
    f"models.segmenter={REPO / 'models' / 'crack_segmenter'}",
    "models.segment=all",
]


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="find and measure cracks in photos (no pose, no broker): overlays, "
                       "a CSV and the inspection report in --out")
    p.add_argument("photos", nargs="+", metavar="PHOTOS", help="photo files and/or folders of photos")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for overlays/, cracks.csv, report.html")
    p.add_argument("--config", default=None, help="firmware config YAML (default: firmware_configs/rpi4.yaml with "
                   "this repository's classifier and segmenter, every tile segmented: models.segment=all)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key, e.g. models.segment=follow (the robot's cascade: faster, misses more)")
    p.add_argument("--mm-per-px", type=float, default=None, metavar="X", help="the photos' scale: sizes in mm and "
                   "a severity per crack (default: the config's scale.mm_per_px; without one, sizes in pixels)")
    p.add_argument("--title", default=None, help="report title")
    p.add_argument("--site", default=None, help="site named in the report's header")
    p.add_argument("--structure", default=None, help="structure or element inspected, for the report's header")
    p.add_argument("--inspector", default=None, help="who inspected, for the report's header")
    p.add_argument("--pdf", action="store_true", help="also print the report to report.pdf (headless Chromium)")
    p.add_argument("--json", default=None, metavar="OUT.json", help="write counts, time and every crack here")


def _models(cfg) -> list:
    return [{"name": b.info.name, "sha256": b.info.sha256}
            for b in (load_bundle(folder) for folder in (cfg.models.classifier, cfg.models.segmenter) if folder)]


def inspect_main(args) -> int:
    started = time.perf_counter()
    if args.mm_per_px is not None and not args.mm_per_px > 0:
        from edge.errors import ConfigError

        raise ConfigError(f"--mm-per-px must be > 0, got {args.mm_per_px}")
    require("jinja2")  # before the models run, not after
    files = photo_files(args.photos)
    cfg = load_config(args.config or DEFAULT_CONFIG, list(args.set) if args.config else [*DEFAULT_SETTINGS, *args.set])
    mm_per_px = args.mm_per_px or cfg.scale.mm_per_px
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = inspect_photos(cfg, files, mm_per_px)
    rows = write_overlays(result, out)
    csv_path = write_csv(rows, out / "cracks.csv")
    header = {"title": args.title, "site": args.site, "structure": args.structure, "inspector": args.inspector}
    html, pdf, note = write_report(result, rows, _models(cfg), header, cfg.models.segment, out, args.pdf)
    elapsed = time.perf_counter() - started
    written = {"overlays": str(out / "overlays"), "csv": str(csv_path), "report": str(html),
               "pdf": str(pdf) if pdf else None}
    if args.json:
        data = summary(result, rows, written)
        data["seconds_total"] = round(elapsed, 3)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(jsonsafe.dumps(data, indent=2) + "\n")
    n = len(result.photos)
    analysed = sum(p.analysed for p in result.photos)
    with_cracks = sum(bool(p.reports) for p in result.photos)
    print(f"inspect: {n} photos ({analysed} analysed), {len(rows)} cracks on {with_cracks} photos in {elapsed:.1f} s "
          f"({elapsed / n:.2f} s per photo); report -> {html}; csv -> {csv_path}; overlays -> {out / 'overlays'}"
          + (f"; pdf -> {pdf}" if pdf else ""))
    if note:
        print(note)
    return 0
