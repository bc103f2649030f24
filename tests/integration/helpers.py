"""Helpers for tests that run the real edge process against a real broker."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CLASSIFIER = ROOT / "models" / "crack_classifier"

SMALL_WALL = """robot_id: {robot_id}
camera:
  type: sim
  width: 1000
  height: 700
  overlap: 0.25
  wall: {{width_px: {width}, height_px: {height}, mm_per_px: 0.5, cracks: {cracks}, kind: concrete, seed: {seed}}}
models:
  classifier: {bundle}
  threads: 2
mqtt:
  host: 127.0.0.1
  port: {port}
  reconnect_min_s: 1
  reconnect_max_s: 2
  drain_timeout_s: 20
outbox:
  path: {outbox}
  confirm: {confirm}
"""


def write_sim_config(tmp_path: Path, port: int, bundle: Path, robot_id="sim-t1", width=2400, height=1400,
                     cracks=3, seed=3, confirm="receipt") -> Path:
    """A small simulated wall. confirm: `puback` where no registry monitor runs (the test's own subscriber
    sends no receipts, so a robot waiting for them would wait out its drain timeout at exit)."""
    path = tmp_path / f"{robot_id}.yaml"
    path.write_text(SMALL_WALL.format(robot_id=robot_id, width=width, height=height, cracks=cracks, seed=seed,
                                      bundle=bundle, port=port, outbox=tmp_path / f"outbox-{robot_id}.sqlite",
                                      confirm=confirm))
    return path


def edge_run(config: Path, summary: Path, *extra: str, **kw) -> subprocess.CompletedProcess:
    """The robot as its own process, exactly as a user starts it."""
    cmd = [sys.executable, "-m", "edge", "run", "--config", str(config), "--summary", str(summary), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=240, **kw)


def outbox_events(path) -> list[tuple[int, str]]:
    """(row id, event_id) of the crack events waiting in an outbox file, oldest first."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id, payload FROM outbox WHERE kind = 'event' ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # not created yet
        rows = []
    finally:
        db.close()
    return [(row_id, json.loads(payload)["event_id"]) for row_id, payload in rows]


def kill_robot_once(config: Path, fps: float, ready, timeout_s: float, what: str) -> None:
    """Start the robot at a real-time camera pace, wait until `ready()` holds, then SIGKILL it (a power cut)."""
    import os
    import signal

    from tests.helpers import wait_until

    cmd = [sys.executable, "-m", "edge", "run", "--config", str(config), "--set", "camera.realtime=true",
           "--set", f"camera.fps={fps:g}"]
    robot = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(ready, timeout_s), what
    finally:
        os.kill(robot.pid, signal.SIGKILL)
        robot.wait()


def kill_if_running(proc) -> None:
    """A robot process a test started and may have left running (None when it never started)."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
