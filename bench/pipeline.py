"""The whole edge process, as a user starts it: frames per second, capture-to-publish latency, peak RSS."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]


def run_edge(config: str, port: int, width: int, height: int, frames: int, extra: List[str] = ()) -> Dict:
    """Run `python -m edge run` on the simulated camera against a broker on `port`; the run summary
    plus `peak_rss_mb` of the edge process (its own ru_maxrss, read when it is reaped)."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        cmd = [sys.executable, "-m", "edge", "run", "--config", config, "--max-frames", str(frames),
               "--summary", str(summary), "--set", f"mqtt.port={port}", "--set", "robot_id=bench-01",
               "--set", f"outbox.path={tmp}/outbox.sqlite", "--set", f"camera.width={width}",
               "--set", f"camera.height={height}", *extra]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace").strip().splitlines()
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError(f"edge run failed ({proc.returncode}): {err[-1] if err else ''}")
        result = json.loads(summary.read_text())
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def measure_pipeline(config: str = "firmware_configs/desktop_sim.yaml", frames: int = 60) -> Dict[str, dict]:
    from monitor.broker import start_broker

    broker = start_broker()
    try:
        return {"1080p": run_edge(config, broker.port, 1920, 1080, frames)}
    finally:
        broker.stop()
