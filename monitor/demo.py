"""`make demo`: a simulated robot scans a synthetic wall; a local broker and the subscriber watch.

Three real parts talk over MQTT: a broker (mosquitto, else the embedded one), the robot as its own
process (`python -m edge run`), and the subscriber here. At the end: a summary and a crack map.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from edge.models.bundle import load_bundle
from edge.config import load_config
from edge import jsonsafe
from edge.errors import CrackbotError

from . import MonitorError
from .broker import start_broker
from .cli import event_line
from .crackmap import draw_crack_map, require_opencv
from .registry import Registry
from .report import write_outputs
from .scoring import known_boxes_mm, score
from .subscriber import Subscriber


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m monitor.demo", description=__doc__.splitlines()[0])
    p.add_argument("--config", default="firmware_configs/desktop_sim.yaml", help="robot config (camera.type sim)")
    p.add_argument("--out", default="out/demo", help="folder for the map, registry, outbox and summaries")
    p.add_argument("--broker", default="auto", choices=["auto", "mosquitto", "embedded"], help="which local broker")
    p.add_argument("--segmenter", default="models/crack_segmenter",
                   help="segmentation bundle the robot runs when its config names none (lengths, widths, traced "
                        "cracks on the map); 'none': the classifier alone")
    p.add_argument("--max-frames", type=int, default=None, help="stop the robot after this many frames")
    p.add_argument("--quiet", action="store_true", help="no line per event")
    return p


def run_demo(args) -> dict:
    cfg = load_config(args.config)
    if cfg.camera.type != "sim":
        raise MonitorError(f"{args.config}: the demo needs camera.type sim, not {cfg.camera.type}")
    require_opencv()  # the robot and the map both need it: say so before starting anything
    add_segmenter = not cfg.models.segmenter and args.segmenter != "none"
    segmenter = ["--set", f"models.segmenter={args.segmenter}"] if add_segmenter else []
    if segmenter and not Path(args.segmenter).is_dir():
        raise MonitorError(f"--segmenter {args.segmenter}: no such bundle folder ('none' runs the classifier alone)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("registry.sqlite", "outbox.sqlite"):  # a fresh run, not the leftovers of the last one
        for suffix in ("", "-wal", "-shm"):
            (out / f"{name}{suffix}").unlink(missing_ok=True)
    wall = cfg.camera.wall
    wall_mm = (wall.width_px * wall.mm_per_px, wall.height_px * wall.mm_per_px)

    with start_broker(kind=args.broker) as broker:
        print(f"broker: {broker.kind} on {broker.host}:{broker.port}", flush=True)
        registry = Registry(out / "registry.sqlite")
        on_event = None if args.quiet else (lambda ev, new: print(event_line(ev, new), flush=True))
        sub = Subscriber(broker.host, broker.port, registry, robot_id=cfg.robot_id, on_event=on_event).start()
        if not sub.wait_connected(timeout=15):
            raise MonitorError(f"the subscriber could not reach the broker at {broker.host}:{broker.port}")
        evidence_dir = (out / "evidence").resolve()
        edge_cmd = [sys.executable, "-m", "edge", "run", "--config", args.config, "--log-level", "WARNING",
                    "--set", f"mqtt.host={broker.host}", "--set", f"mqtt.port={broker.port}",
                    "--set", f"outbox.path={out / 'outbox.sqlite'}", "--summary", str(out / "edge_summary.json"),
                    "--set", f"evidence.dir={evidence_dir}", *segmenter]  # crops for the report
        if args.max_frames:
            edge_cmd += ["--max-frames", str(args.max_frames)]
        started = time.monotonic()
        proc = subprocess.run(edge_cmd, stdout=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise MonitorError(f"the robot process failed (exit {proc.returncode}); see its error above")
        sub.wait_until_stopped([cfg.robot_id], timeout=15)
        time.sleep(1.0)  # stragglers
        sub.stop()
        elapsed = time.monotonic() - started

    edge_summary = json.loads((out / "edge_summary.json").read_text())
    monitor_summary = sub.summary()
    cracks = registry.cracks(cfg.robot_id)
    evidence_received = registry.evidence_count(cfg.robot_id)
    # The wall is synthetic, so the truth is known: render it again from the same seed.
    import numpy as np

    from edge.sim import render_wall

    truth = render_wall(width_px=wall.width_px, height_px=wall.height_px, n_cracks=wall.cracks, kind=wall.kind,
                        seed=wall.seed, mm_per_px=wall.mm_per_px)
    truth_mm = [np.column_stack([line.points, line.widths]) * wall.mm_per_px
                for crack in truth.cracks for line in crack.polylines]  # x, y, full width
    title = f"crackbot demo: {cfg.robot_id} on a {wall_mm[0] / 1000:g} x {wall_mm[1] / 1000:g} m wall"
    map_path = draw_crack_map(cracks, out / "crack_map.png", wall_size_mm=wall_mm, title=title, truth_mm=truth_mm)
    exports = write_outputs(registry, cfg.robot_id, csv_path=out / "cracks.csv", geojson_path=out / "cracks.geojson",
                            report_path=out / "report.html", wall_size_mm=wall_mm, title=title,
                            evidence_root=evidence_dir)  # only the crops this robot wrote are embedded
    registry.close()
    tile_mm = load_bundle(cfg.models.classifier, verify_sha=False).info.tile.size * wall.mm_per_px
    result = score(cracks, known_boxes_mm(truth), tolerance_mm=tile_mm)
    summary = {"edge": edge_summary, "monitor": monitor_summary, "ground_truth": result,
               "broker": broker.kind, "seconds": round(elapsed, 1), "map": str(map_path), "exports": exports,
               "evidence_in_registry": evidence_received}
    (out / "summary.json").write_text(jsonsafe.dumps(summary, indent=2) + "\n")
    return summary


def _print_summary(s: dict) -> None:
    e, m, g = s["edge"], s["monitor"], s["ground_truth"]
    rows = [
        ("frames", e["frames"]),
        ("frames dropped", e["frames_dropped"]),
        ("tiles classified", e["tiles"]),
        ("crack tiles", e["crack_tiles"]),
        ("cracks found", e["cracks"]),
        ("known cracks found", f"{g['found']} of {g['known']} (boxes within {g['tolerance_mm']:g} mm)"),
        ("reports matching no known crack", len(g["unmatched_reports"])),
        ("events sent / acknowledged", f"{e['events_published']} / {e['events_acked']}"),
        (
            "events received",
            f"{m['events_received']} ({m['duplicates_dropped']} duplicates dropped, {m['invalid']} invalid)",
        ),
        ("evidence JPEGs sent / in the registry", f"{e['evidence_mqtt']['sent']} / {s['evidence_in_registry']}"),
        ("robot fps", e["fps"]),
        ("broker", s["broker"]),
        ("crack map", s["map"]),
        ("report", s["exports"]["report"]),
        ("CSV / GeoJSON", f"{s['exports']['csv']} / {s['exports']['geojson']}"),
    ]
    print("\ncrackbot demo summary")
    for name, value in rows:
        print(f"  {name:<34} {value}")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        summary = run_demo(args)
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_summary(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
