"""The photo-check subcommand of `python -m edge`: config, run, tables, figures, JSON."""
from __future__ import annotations

import json
import re
from pathlib import Path

from edge.config import load_config
from edge.errors import ConfigError
from edge.photocheck.check import photo_check
from edge.photocheck.figures import worst_photos

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "firmware_configs" / "rpi4.yaml"
SHIPPED = [
    f"models.classifier={REPO / 'models' / 'crack_classifier'}",
    f"models.segmenter={REPO / 'models' / 'crack_segmenter'}",
]


def _pct(v) -> str:
    return "-" if v is None else f"{v:.0f}%"


def _num(v, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def print_tables(result: dict) -> None:
    print(f"{'set':<28} {'by':<6} {'photos':>6} {'found':>6} {'length':>7} {'w max':>6} {'w mean':>6} {'both':>5}"
          f" {'len err':>8} {'wmax err':>8} {'wmax':>5}")
    for r in result["sets"]:
        for mode in ("exact", "models"):
            if mode not in r:
                continue
            s = r[mode]["summary"]
            if r["kind"] != "masks":
                key = "false_alarms" if r["kind"] == "negative" else "found"
                print(
                    f"{r['set']:<28} {mode:<6} {s['photos']:>6} {key.replace('_', ' ')}: {s[key]} ({s[key + '_pct']} %)"
                )
                continue
            print(
                f"{r['set']:<28} {mode:<6} {s['cracked']:>6} {_pct(s['found_pct']):>6} "
                f"{_pct(s['length_within_pct']):>7} "
                f"{_pct(s['width_max_within_pct']):>6} {_pct(s['width_mean_within_pct']):>6} "
                f"{_pct(s['both_within_pct']):>5} "
                f"{_num(s['length_error_median_pct'], '+7.1f') + '%':>8} "
                f"{_num(s['width_max_error_median_px'], '+7.2f'):>8} "
                f"{_num(s['width_max_truth_median_px'], '5.1f'):>5}"
                + (
                    f"  crack_ids {s['crack_ids']} ({s['crack_ids_on_several_photos']} on several photos)"
                    if "crack_ids" in s
                    else ""
                )
            )
    print(
        "length, w max, w mean, both: share of the photos found within tolerance (exact: 10 %, max(1 px, 15 %), "
        "max(1 px, 10 %); models: 20 %, max(1 px, 20 %), max(1 px, 20 %)); errors are medians, wmax the true "
        "median in px"
    )


def photo_check_main(args) -> int:
    overrides = list(args.set) if args.config else [*SHIPPED, *args.set]
    cfg = load_config(args.config or DEFAULT_CONFIG, overrides)
    if not args.exact_only and not cfg.models.segmenter:
        raise ConfigError("photo-check needs models.segmenter for lengths and widths (or --exact-only)")
    result = photo_check(cfg, args.data, models=not args.exact_only, limit=args.limit)
    print_tables(result)
    if args.figures:
        for r in result["sets"]:
            mode = "models" if "models" in r and r["kind"] == "masks" else "exact" if r["kind"] == "masks" else None
            if mode is not None:
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", r["set"])
                path = worst_photos(r, mode, Path(args.figures) / f"{name}.png")
                if path is not None:
                    print(f"worst photos of {r['set']}: {path}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0
