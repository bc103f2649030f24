"""``python -m monitor``: subscribe to crack events, keep the registry, draw the map, write a summary."""
from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from edge import jsonsafe
from edge.errors import CrackbotError
from edge.extras import require
from monitor import MonitorError
from monitor.args import Parser, port, positive
from monitor.report import add_header_options

log = logging.getLogger(__name__)

STRAGGLER_WAIT_S = 1.0   # after the last robot stopped, events still in flight get this long to arrive
_ROBOT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # as in event.schema.json; keeps MQTT wildcards out
CONNECT_WARN_S = 5.0     # warn once when the broker has not answered after this long


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m monitor",
                description="Subscribe to crackbot crack events over MQTT, keep a crack registry (SQLite), "
                            "and write a crack map and a summary at the end.")
    p.add_argument("--host", default="localhost", help="MQTT broker host (default localhost)")
    p.add_argument("--port", type=port, default=1883, help="MQTT broker port (default 1883)")
    p.add_argument("--robot", metavar="ID", help="listen to one robot only (default: every robot)")
    p.add_argument("--db", metavar="FILE", default=":memory:",
                   help="SQLite crack registry; reused across runs (default: in memory, gone at exit)")
    p.add_argument("--map", metavar="FILE", type=Path, help="write the crack map PNG here at the end")
    p.add_argument("--duration", metavar="S", type=positive, help="stop after S seconds")
    p.add_argument("--until-stopped", action="store_true",
                   help="stop once the robot(s) published a live 'stopped' status (then wait ~1 s for stragglers)")
    p.add_argument("--wall-width-mm", metavar="W", type=positive, help="wall width for the map (with --wall-height-mm)")
    p.add_argument("--wall-height-mm", metavar="H", type=positive, help="wall height for the map")
    p.add_argument("--title", help="crack map title")
    p.add_argument("--json", "--summary", dest="summary", metavar="OUT.json", type=Path,
                   help="write the summary JSON here at the end (--summary: the older name)")
    p.add_argument("--quiet", action="store_true", help="no line per event (the final summary is still printed)")
    p.add_argument(
        "--live",
        action="store_true",
        help="a table of cracks, worst first, redrawn every --live-interval seconds (instead of event lines)",
    )
    p.add_argument("--live-interval", metavar="S", type=positive, default=1.0, help="live table refresh (default 1 s)")
    out = p.add_argument_group("exports, written at the end")
    out.add_argument("--csv", metavar="FILE", type=Path, help="one row per crack")
    out.add_argument("--geojson", metavar="FILE", type=Path, help="cracks as polygons in wall mm (x right, y down)")
    out.add_argument("--maps", metavar="DIR", type=Path, help="one crack map PNG per wall")
    out.add_argument("--report", metavar="FILE", type=Path, help="HTML report with maps and evidence crops")
    add_header_options(out)
    out.add_argument("--pdf", action="store_true", help="also print --report to a PDF beside it (headless Chromium)")
    out.add_argument("--evidence-root", metavar="DIR", type=Path,
                     help="folder of the evidence crops: only images under it are embedded in the report, "
                          "relative evidence paths are taken from it (default: none embedded)")
    sec = p.add_argument_group("broker connection")
    sec.add_argument("--topic-root", default="crackbot", help="topics are ROOT/<robot_id>/... (default crackbot)")
    sec.add_argument("--username", help="broker user name")
    sec.add_argument("--password-env", metavar="VAR", default="CRACKBOT_MQTT_PASSWORD",
                     help="environment variable holding the password (default CRACKBOT_MQTT_PASSWORD)")
    sec.add_argument("--cafile", type=Path, help="CA certificate: connect with TLS and verify the broker against it")
    sec.add_argument("--certfile", type=Path, help="client certificate for TLS (with --keyfile)")
    sec.add_argument("--keyfile", type=Path, help="private key of --certfile")
    sec.add_argument("--session", metavar="NAME",
                     help="persistent session under this client id: the broker keeps events for us while we are away")
    p.add_argument("-v", "--verbose", action="store_true", help="log connections and status changes")
    return p


def _check_writable(path: Path, what: str) -> None:
    """Fail before listening for an hour, not after: the folder must exist and be writable."""
    parent = path.resolve().parent
    if path.is_dir():
        raise MonitorError(f"{what} {path} is a folder, not a file")
    if not parent.is_dir():
        raise MonitorError(f"{what} folder does not exist: {parent}")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise MonitorError(f"{what} {path} is not writable")


def _check_args(args: argparse.Namespace) -> tuple[float, float] | None:
    if args.robot is not None and not _ROBOT_ID.fullmatch(args.robot):
        raise MonitorError(f"--robot {args.robot!r} is not a robot id (letters, digits, '_', '.', '-')")
    if (args.wall_width_mm is None) != (args.wall_height_mm is None):
        raise MonitorError("give both --wall-width-mm and --wall-height-mm, or neither")
    if args.map is not None:
        _check_writable(args.map, "map")
    for path, what in ((args.csv, "CSV export"), (args.geojson, "GeoJSON export"), (args.report, "report")):
        if path is not None:
            _check_writable(path, what)
    if args.maps is not None and args.maps.exists() and not args.maps.is_dir():
        raise MonitorError(f"--maps {args.maps} is a file, not a folder")
    if any(path is not None for path in (args.map, args.maps, args.report)):
        from monitor.crackmap import require_opencv

        require_opencv()
    if args.report is not None:
        require("jinja2")  # the report's template
    if (args.certfile is None) != (args.keyfile is None):
        raise MonitorError("give both --certfile and --keyfile, or neither")
    if args.certfile is not None and args.cafile is None:
        raise MonitorError("--certfile needs --cafile (the client certificate is for TLS)")
    for path in (args.cafile, args.certfile, args.keyfile):
        if path is not None and not path.is_file():
            raise MonitorError(f"no such file: {path}")
    if args.username and not os.environ.get(args.password_env):
        raise MonitorError(f"--username {args.username} needs the password in ${args.password_env}")
    if re.search(r"[#+]|^/|/$", args.topic_root) or not args.topic_root:
        raise MonitorError(f"--topic-root {args.topic_root!r}: no wildcards, no leading or trailing /")
    if args.summary is not None:
        _check_writable(args.summary, "summary")
    if args.db != ":memory:":
        _check_writable(Path(args.db), "registry")
    try:
        socket.getaddrinfo(args.host, args.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise MonitorError(f"cannot resolve broker host {args.host!r}: {exc.strerror}") from None
    return (args.wall_width_mm, args.wall_height_mm) if args.wall_width_mm else None


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def event_line(event: dict[str, Any], is_new_crack: bool) -> str:
    """One line per event: time robot crack_id type  wall (x, y) mm  conf 0.93  width 0.4 mm."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event["ts"]))
    centre = (event.get("wall") or {}).get("center_mm")
    wall = f"wall ({centre[0]:.0f}, {centre[1]:.0f}) mm" if centre else "wall -"
    width = _fmt(event.get("width_max_mm"), " mm", 2)
    sev = event.get("severity") or {}
    severity = f"  sev {sev['category']} {sev.get('label') or ''}".rstrip() if sev.get("category") is not None else ""
    mark = "*" if is_new_crack else " "
    return (f"{stamp} {event['robot_id']} {event['crack_id']}{mark} {event['type']:<6}  {wall}  "
            f"conf {event['confidence']:.2f}  width {width}{severity}")


def _active_robots(sub) -> set[str]:
    """Robots we expect a 'stopped' from: those that sent events this session or say they are online."""
    online = {robot for robot, status in sub.status().items() if status.state == "online"}
    return sub.session_robots() | online | sub.stopped_robots()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(jsonsafe.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _install_signals(stop: threading.Event) -> dict:
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


def run(args: argparse.Namespace, wall_size: tuple[float, float] | None) -> int:
    from monitor.registry import Registry
    from monitor.subscriber import Subscriber

    def on_event(event: dict, is_new_crack: bool) -> None:
        if not args.quiet:
            print(event_line(event, is_new_crack), flush=True)

    from monitor.live import CLEAR, render_table
    from monitor.subscriber import TlsFiles

    tls = TlsFiles(str(args.cafile), args.certfile and str(args.certfile),
                   args.keyfile and str(args.keyfile)) if args.cafile else None
    registry = Registry(args.db)
    sub = Subscriber(args.host, args.port, registry, robot_id=args.robot, on_event=None if args.live else on_event,
                     topic_root=args.topic_root, username=args.username,
                     password=os.environ.get(args.password_env) if args.username else None, tls=tls,
                     client_id=args.session, clean_session=args.session is None)
    next_draw = 0.0
    clear = CLEAR if sys.stdout.isatty() else ""
    stop = threading.Event()
    previous = _install_signals(stop)
    started = time.monotonic()
    deadline = started + args.duration if args.duration else None
    stopped_at = None
    warned = False
    try:
        sub.start()
        while not stop.wait(0.1):
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if not warned and not sub.ever_connected and now - started > CONNECT_WARN_S:
                log.warning("no answer yet from the broker at %s:%d; still trying (%s)", args.host, args.port,
                            sub.last_error or "no reply")
                warned = True
            if args.live and now >= next_draw:
                print(clear + render_table(registry.cracks(args.robot), sub.summary()), flush=True)
                next_draw = now + args.live_interval
            if args.until_stopped:
                if stopped_at is None:
                    wanted = [args.robot] if args.robot else _active_robots(sub)
                    if wanted and sub.wait_until_stopped(wanted, timeout=0):
                        stopped_at = now
                elif now - stopped_at >= STRAGGLER_WAIT_S:
                    break
    finally:
        sub.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    elapsed = time.monotonic() - started

    try:
        cracks = registry.cracks(args.robot)
        summary = sub.summary()
        summary.update(host=args.host, port=args.port, robot=args.robot, db=args.db,
                       duration_s=round(elapsed, 3), connected=sub.ever_connected,
                       registry=registry.counts(args.robot),
                       map=str(args.map) if args.map else None)
        if args.map is not None:
            from monitor.crackmap import draw_crack_map

            draw_crack_map(cracks, args.map, wall_size_mm=wall_size, title=args.title)
        if any(x is not None for x in (args.csv, args.geojson, args.maps, args.report)):
            from monitor.report import write_outputs

            summary["exports"] = write_outputs(registry, args.robot, csv_path=args.csv, geojson_path=args.geojson,
                                               maps_dir=args.maps, report_path=args.report, wall_size_mm=wall_size,
                                               title=args.title, evidence_root=args.evidence_root,
                                               header={"site": args.site, "structure": args.structure,
                                                       "inspector": args.inspector}, pdf=args.pdf)
        if args.summary is not None:
            _write_json(args.summary, summary)
    finally:
        registry.close()

    extras = [f"map -> {args.map}" if args.map else "", f"summary -> {args.summary}" if args.summary else "",
              *(f"{kind} -> {path}" for kind, path in summary.get("exports", {}).items() if kind != "maps"),
              f"maps -> {args.maps}" if args.maps else ""]
    robots = ", ".join(summary["robots"]) or "no robot"
    print(f"monitor: {summary['events_received']} events ({summary['duplicates_dropped']} duplicates dropped, "
          f"{summary['invalid']} invalid), {summary['cracks']} cracks from {robots} in {elapsed:.1f} s"
          + "".join(f"; {e}" for e in extras if e), flush=True)
    if not sub.ever_connected:
        print(f"error: never reached the MQTT broker at {args.host}:{args.port}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already reported by argparse
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        wall_size = _check_args(args)
        return run(args, wall_size)
    except (MonitorError, CrackbotError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a write that the checks could not foresee (disk full, a race)
        print(f"error: {exc}", file=sys.stderr)
        return 2
