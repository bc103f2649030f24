"""`python -m edge`: check-config and run."""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from .errors import CrackbotError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edge", description="crackbot device runtime")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check-config", help="validate a firmware config (exit 2 with key and line on error)")
    c.add_argument("file", help="firmware config YAML")
    c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key, e.g. mqtt.port=1884")
    r = sub.add_parser("run", help="run the inspection loop")
    r.add_argument("--config", required=True, help="firmware config YAML")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key, e.g. robot_id=r2")
    r.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    r.add_argument("--summary", default=None, metavar="OUT.json", help="write the run summary here")
    r.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from .config import load_config

    try:
        cfg = load_config(args.file if args.command == "check-config" else args.config, args.set)
        if args.command == "check-config":
            print(f"ok: {args.file} (robot {cfg.robot_id}, camera {cfg.camera.type})")
            return 0
        logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from .runner import run

        stop = threading.Event()
        # SIGTERM (systemd stop) ends the loop cleanly: open cracks get `end`, the outbox drains, status `stopped`.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        summary = run(cfg, max_frames=args.max_frames, stop=stop)
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(summary, indent=2)
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(text + "\n")
    print(text)
    return 0
