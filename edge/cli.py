"""`python -m edge`: check-config, run, and the desktop checks and tools (scan-check, photo-check, inspect)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from edge import jsonsafe
from edge.errors import CrackbotError
from edge.extras import install_hint


# What a missing module means here, in one line.
MISSING = {
    "edge.sim": "the simulator (edge/sim) is not part of this install: scan-check and camera.type sim run from "
                "a desktop checkout",
    "edge.photocheck": "the photo check (edge/photocheck) is not part of this install: run it from a desktop checkout",
    "edge.inspect": "inspect (edge/inspect) is not part of this install: run it from a desktop checkout",
    "edge.report": "the inspection report (edge/report) is not part of this install: run it from a desktop checkout",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edge", description="crackbot device runtime")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check-config", help="validate a firmware config (exit 2 with key and line on error)")
    c.add_argument("file", help="firmware config YAML")
    c.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a key, e.g. mqtt.port=1884"
    )
    r = sub.add_parser("run", help="run the inspection loop")
    r.add_argument("--config", required=True, help="firmware config YAML")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key, e.g. robot_id=r2")
    r.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    r.add_argument("--json", "--summary", dest="summary", default=None, metavar="OUT.json",
                   help="write the run summary here (--summary: the older name)")
    r.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    s = sub.add_parser(
        "scan-check", help="run offline over the simulator's wall and score cracks against the known ones"
    )
    s.add_argument("--config", required=True, help="firmware config YAML with camera.type sim")
    s.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a key, e.g. camera.overlap=0.5"
    )
    s.add_argument("--oracle", action="store_true", help="measure the exact masks instead of the segmenter's")
    s.add_argument("--seeds", default=None, metavar="A-B", help="score the walls of these seeds (e.g. 1-7 or 1,4,9) "
                   "and their totals, instead of camera.wall.seed alone")
    s.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    s.add_argument("--json", default=None, metavar="OUT.json", help="write the full result here")
    pc = sub.add_parser("photo-check", help="run the robot's code path over real photos with masks and score "
                        "every photo against its mask (lengths, widths, found, false alarms)")
    pc.add_argument("--data", action="append", required=True, metavar="DIR", help="images/ + masks/, or a folder "
                    "with Negative/ (crack-free patches) and/or Positive/; repeatable")
    pc.add_argument("--config", default=None, help="firmware config YAML (default: firmware_configs/rpi4.yaml with "
                    "this repository's models/crack_classifier and models/crack_segmenter)")
    pc.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a key, e.g. models.segment=all"
    )
    pc.add_argument("--exact-only", action="store_true", help="only the exact masks through the runtime's measurement "
                    "(no models: fast)")
    pc.add_argument("--limit", type=int, default=None, metavar="N", help="the first N photos of each set")
    pc.add_argument("--figures", default=None, metavar="DIR", help="write each set's worst photos here as PNG")
    pc.add_argument("--json", default=None, metavar="OUT.json", help="write the full result here")
    try:
        from edge.inspect.cli import add_parser
    except ModuleNotFoundError:  # a device install: no edge/inspect
        pass
    else:
        add_parser(sub)
    return p


def _print_scan_check(result: dict) -> None:
    print(f"scan-check ({result['mode']}): {result['run']['frames']} frames, {result['reports']} cracks reported")
    print(
        f"{'known':>5} {'len mm':>8} {'meas':>8} {'err %':>6} {'wmax mm':>8} {'meas':>6} {'err':>6} "
        f"{'pos mm':>6}  ids  pass"
    )
    for r in result["cracks"]:
        rep = r.get("reported") or {}
        def fmt(v, f):
            return format(v, f) if v is not None else "-"
        print(f"{r['known_id']:>5} {r['length_mm']:>8.1f} {fmt(rep.get('length_mm'), '8.1f'):>8} "
              f"{fmt(r.get('length_error_rel') and 100 * r['length_error_rel'], '6.1f'):>6} {r['width_max_mm']:>8.2f} "
              f"{fmt(rep.get('width_max_mm'), '6.2f'):>6} {fmt(r.get('width_error_mm'), '+6.2f'):>6} "
              f"{fmt(r.get('position_error_mm'), '6.1f'):>6}  {len(r['crack_ids']):>3}  {'yes' if r['pass'] else 'NO'}")
    print(f"cracks wider than 1 mm: {result['found_wider_than_1mm']}/{result['known_wider_than_1mm']} found, "
          f"{result['passed_wider_than_1mm']} within every tolerance; one crack_id each: {result['one_id_each']}; "
          f"reports on no known crack: {len(result['reports_on_no_known_crack'])}")


def _scan_check(args, cfg) -> int:
    from edge.config import load_config
    from edge.sim.scancheck import parse_seeds, scan_check, summarize

    if args.seeds is None:
        result = scan_check(cfg, oracle=args.oracle, max_frames=args.max_frames)
        _print_scan_check(result)
    else:
        try:
            seeds = parse_seeds(args.seeds)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        walls = []
        for seed in seeds:
            print(f"wall seed {seed}:")
            walls.append(scan_check(load_config(args.config, [*args.set, f"camera.wall.seed={seed}"]),
                                    oracle=args.oracle, max_frames=args.max_frames))
            _print_scan_check(walls[-1])
        result = {"seeds": seeds, "summary": summarize(walls), "walls": walls}
        _print_summary(result["summary"], args.seeds)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(jsonsafe.dumps(result, indent=2) + "\n")
    return 0


def _print_summary(s: dict, seeds: str) -> None:
    n = s["known_wider_than_1mm"]
    print(f"\nseeds {seeds}: {s['walls']} walls, {n} cracks wider than 1 mm")
    print(f"  found {s['found']}/{n}, one crack_id {s['one_id']}/{n}")
    if s["length_error_worst_pct"] is None:
        return  # nothing was found to measure
    print(f"  length within 10 %: {s['length_within']} (mean error {s['length_error_abs_mean_pct']:.1f} %, "
          f"worst {s['length_error_worst_pct']:+.1f} %)")
    lo, hi = s["width_error_range_mm"]
    print(f"  max width within 0.5 mm or 20 %: {s['width_within']} (mean error {s['width_error_mean_mm']:+.2f} mm, "
          f"from {lo:+.2f} to {hi:+.2f})")
    print(f"  wall position within 20 mm: {s['position_within']} (worst {s['position_error_worst_mm']} mm)")
    print(f"  every tolerance: {s['passed']}/{n}; reports on no known crack: {s['reports_on_no_known_crack']} "
          f"of {s['reports']}")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        from edge.config import load_config

        if args.command == "photo-check":
            logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
            from edge.photocheck.cli import photo_check_main

            return photo_check_main(args)
        if args.command == "inspect":
            logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
            from edge.inspect.cli import inspect_main

            return inspect_main(args)
        cfg = load_config(args.file if args.command == "check-config" else args.config, args.set)
        if args.command == "check-config":
            print(f"ok: {args.file} (robot {cfg.robot_id}, camera {cfg.camera.type})")
            return 0
        if args.command == "scan-check":
            logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
            return _scan_check(args, cfg)
        logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from edge.loop.runner import run

        stop = threading.Event()
        # SIGTERM (systemd stop) ends the loop cleanly: open cracks get `end`, the outbox drains, status `stopped`.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        summary = run(cfg, max_frames=args.max_frames, stop=stop)
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        message = MISSING.get(exc.name) or install_hint(exc.name or "")
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    text = jsonsafe.dumps(summary, indent=2)
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(text + "\n")
    print(text)
    return 0
