"""The whole edge process, as a user starts it, on 1080p video (what a USB or CSI camera delivers):
frames per second, capture-to-publish latency (p50, p95) and peak RSS of the process.

The video is cut from a simulated wall before the edge starts, so the edge process holds only what
a robot's would: its models, a few frames in flight and the outbox. The simulator camera itself
renders its whole wall in memory, which a real camera does not."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = ROOT / "firmware_configs" / "desktop_sim.yaml"


def write_video(path: Path, width: int = 1920, height: int = 1080) -> int:
    """What the simulated robot of desktop_sim.yaml sees at width x height, as an MJPEG video; returns
    its frame count."""
    import cv2

    from edge.camera import open_camera
    from edge.config import load_config

    camera_cfg = load_config(BASE_CONFIG, [f"camera.width={width}", f"camera.height={height}"]).camera
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (width, height))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MJPEG video here")
    frames = 0
    with open_camera(camera_cfg) as camera:
        for frame in camera.frames():
            writer.write(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
            frames += 1
    writer.release()
    return frames


def bench_config(folder: Path, video: Path, port: int, realtime: bool, fps: float,
                 segmenter: Optional[str] = None, segment: Optional[str] = None, zoom: int = 1) -> Path:
    """desktop_sim.yaml with the video camera, this broker, a fresh outbox and, optionally, the segmenter
    (which tiles it sees, when not the config's choice, and at what zoom: 1 unless asked). Hysteresis is
    off, as in the robot configs (desktop_sim.yaml's own settings suit its simulated walls)."""
    cfg = yaml.safe_load(BASE_CONFIG.read_text())
    cfg["robot_id"] = "bench-01"
    cfg["camera"] = {"type": "video", "path": str(video), "loop": True, "realtime": realtime, "fps": fps}
    cfg["pose"] = {"source": "none"}  # a video has no wall position: events carry frame boxes and mm sizes
    cfg["mqtt"]["port"] = port
    cfg["outbox"]["path"] = str(folder / "outbox.sqlite")
    cfg["outbox"]["confirm"] = "puback"  # no registry monitor runs here to send receipts
    cfg["models"]["classifier"] = str(ROOT / "models" / "crack_classifier")
    cfg["models"]["segmenter"] = str(ROOT / segmenter) if segmenter else None  # the written config lives elsewhere
    cfg["models"]["segment_zoom"] = zoom
    cfg["models"]["faint_threshold"] = None
    if segment is not None:
        cfg["models"]["segment"] = segment
    path = folder / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def run_edge(config: Path, frames: int) -> Dict:
    """`python -m edge run` until `frames` frames were analysed: its summary (which holds the
    process's own peak RSS)."""
    summary = config.parent / "summary.json"
    cmd = [sys.executable, "-m", "edge", "run", "--config", str(config), "--max-frames", str(frames),
           "--summary", str(summary), "--log-level", "WARNING"]
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        raise RuntimeError(f"edge run failed ({proc.returncode}): {err[-1] if err else ''}")
    return json.loads(summary.read_text())


RUNS: List[dict] = [
    # name, camera pacing, models
    {"name": "classify, as fast as frames come", "realtime": False, "fps": 30.0, "segmenter": None},
    {"name": "classify, live camera at 30 fps", "realtime": True, "fps": 30.0, "segmenter": None},
    {"name": "cascade, as fast as frames come", "realtime": False, "fps": 30.0, "segmenter": "models/crack_segmenter"},
    {"name": "cascade, live camera at 15 fps", "realtime": True, "fps": 15.0, "segmenter": "models/crack_segmenter"},
    # what `follow` replaced: every neighbour of every crack tile is segmented
    {"name": "cascade, all crack tiles' neighbours", "realtime": False, "fps": 30.0,
     "segmenter": "models/crack_segmenter", "segment": "crack_tiles_and_neighbours"},
    # models.segment_zoom 2: four segmenter runs per segmented tile
    {"name": "cascade, segmenter at 2x zoom", "realtime": False, "fps": 30.0, "segmenter": "models/crack_segmenter",
     "zoom": 2},
]


def measure_pipeline(frames: int = 300) -> Dict[str, dict]:
    from monitor.broker import start_broker

    keep = ("fps", "frames", "frames_dropped", "tiles", "segmented_tiles", "events_published", "events_acked",
            "capture_to_publish_ms", "latency_ms", "peak_rss_mb")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "wall_1080p.avi"
        results["video_frames"] = write_video(video)
        broker = start_broker()
        try:
            for run in RUNS:
                folder = Path(tmp) / f"run{len(results)}"
                folder.mkdir()
                config = bench_config(folder, video, broker.port, run["realtime"], run["fps"], run["segmenter"],
                                      run.get("segment"), run.get("zoom", 1))
                summary = run_edge(config, frames)
                results[run["name"]] = {k: summary.get(k) for k in keep}
        finally:
            broker.stop()
    return results
