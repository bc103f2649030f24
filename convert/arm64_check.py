"""`make arm64-check`: the device tarball installed by its own install.sh on an arm64 Debian and run there.

An arm64 Debian bookworm root (what Raspberry Pi OS 64-bit is built on: Python 3.11, aarch64) is made
with debootstrap and run on this machine under qemu-user emulation (binfmt_misc). Then, end to end:
1. a firmware config like rpi4.yaml but with a folder camera is packed (convert.package) and installed
   into the root with install.sh (pip fetches the aarch64 wheels of LiteRT, numpy, OpenCV from the index
   this machine's pip uses);
2. a few PNG frames cut from a synthetic wall go into the root; a broker (mosquitto or the embedded one)
   and the subscriber (python -m monitor) run on this machine;
3. `crackbot-edge --max-frames N` runs inside the root against that broker (the root shares the network).
The result (installed, aarch64, frames analysed, events published / acknowledged / received, wall times) is
printed and written to OUT/result.json. The root stays in out/arm64-root, so a second run skips debootstrap.
Needs root (debootstrap, mount, chroot); installs debootstrap, qemu-user-static and binfmt-support with apt.
Emulated timings say nothing about a Pi's speed: `make bench` on the device does.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import yaml

from edge.errors import CrackbotError

from .arm64_root import (MIRROR, CheckError, build_root, configure_pip, ensure_binfmt, ensure_host_tools, in_root,
                         mounted, tail, unmount_under)

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "/opt/crackbot"          # where install.sh puts crackbot inside the root
FRAMES = "/srv/crackbot-frames"   # the folder camera's frames inside the root
ROBOT_ID = "arm64-check"
TARGET = "rpi4_arm64_check"       # an rpi* name: the rpi extra and a venv with system site packages, as on a Pi


def firmware_config(base: dict, frames: str, robot_id: str, classifier: str) -> dict:
    """A firmware config (rpi4.yaml's, as base) whose camera is a folder of frames, with no pose and a fixed scale."""
    config = json.loads(json.dumps(base))
    config.update(robot_id=robot_id, camera={"type": "folder", "path": frames}, pose={"source": "none"},
                  scale={"mm_per_px": 0.5})
    config.setdefault("models", {})["classifier"] = classifier
    config.pop("outbox", None)  # relative default: the outbox lands in the prefix, which every run makes anew
    return config


def verdict(install: dict, run: Optional[dict], monitor: Optional[dict], n_frames: int) -> Dict[str, bool]:
    """Each check of the run -> passed. install: {returncode, stdout, machine}; run: the robot's --summary;
    monitor: the subscriber's --summary (None where it was not written)."""
    run, monitor = run or {}, monitor or {}
    published = run.get("events_published", 0)
    return {
        "installed": install.get("returncode") == 0 and "installed crackbot" in install.get("stdout", ""),
        "aarch64": install.get("machine") == "aarch64",
        "started": bool(run),
        "frames_analysed": run.get("frames") == n_frames,
        "events_published": published > 0,
        "events_acked": published > 0 and run.get("events_acked") == published,
        "events_received": published > 0 and monitor.get("events_received") == published,
    }


# ---- the check ------------------------------------------------------------------------------------------

def write_frames(folder: Path, n: int) -> None:
    """n 640 x 480 PNG frames side by side along a synthetic wall with three cracks."""
    import cv2

    from edge.sim import render_wall

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    wall = render_wall(200 * n + 640, 1400, 3, "concrete", seed=4, mm_per_px=0.5)
    for i in range(n):
        crop = wall.rgb[200:680, 200 * i: 200 * i + 640]
        cv2.imwrite(str(folder / f"f{i:02d}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))


def install(root: Path, work: Path) -> dict:
    """Pack the folder-camera config, unpack it in the root and run its install.sh there."""
    from convert.package import build_package

    base = yaml.safe_load((ROOT / "firmware_configs/rpi4.yaml").read_text())
    config = work / f"{TARGET}.yaml"
    config.write_text(yaml.safe_dump(firmware_config(base, FRAMES, ROBOT_ID, f"{PREFIX}/models/crack_classifier"),
                                     sort_keys=False))
    archive = build_package(str(config), work / "dist")
    staging = root / "tmp/crackbot-package"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    top = next(staging.iterdir()).name
    in_root(root, ["rm", "-rf", PREFIX], 120)
    # --no-apt: picamera2 is in Raspberry Pi OS's archive, not Debian's; --no-service: no systemd in the root
    proc = in_root(root, ["sh", f"/tmp/crackbot-package/{top}/install.sh", "--prefix", PREFIX, "--no-apt",
                          "--no-service"], 3600)
    machine = in_root(root, [f"{PREFIX}/venv/bin/python", "-c", "import json, platform, numpy, cv2, ai_edge_litert; "
                             "from importlib.metadata import version as v; print(json.dumps({'machine': "
                             "platform.machine(), 'python': platform.python_version(), 'numpy': numpy.__version__, "
                             "'opencv': cv2.__version__, 'litert': v('ai-edge-litert')}))"], 600)
    versions = json.loads(machine.stdout) if machine.returncode == 0 else {"error": tail(machine, 2)}
    return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr_tail": tail(proc, 10),
            "archive": archive.name, "machine": versions.get("machine"), "versions": versions}


@contextmanager
def subscriber(port: int, summary: Path, timeout: float = 60) -> Iterator[subprocess.Popen]:
    """python -m monitor on this machine, returned once it has subscribed; stopped (SIGTERM) at the end,
    after it had the chance to exit by itself when the robot said `stopped`."""
    summary.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--host", "127.0.0.1", "--port", str(port),
                             "--robot", ROBOT_ID, "--until-stopped", "--quiet", "-v", "--summary", str(summary)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    subscribed = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            log.debug("monitor: %s", line.rstrip())
            if "subscribed to" in line:
                subscribed.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not subscribed.wait(timeout):
            raise CheckError(f"the subscriber did not subscribe within {timeout:.0f} s")
        yield proc
    finally:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=30)


def run_check(root: Path, out: Path, mirror: str, n_frames: int) -> dict:
    from monitor.broker import start_broker

    times: Dict[str, float] = {}
    started = t0 = time.monotonic()
    ensure_host_tools()
    ensure_binfmt()
    times["host_tools_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    built = build_root(root, mirror)
    times["root_s"] = time.monotonic() - t0
    out.mkdir(parents=True, exist_ok=True)
    with mounted(root):
        dropped = configure_pip(root)
        if dropped:
            print(f"pip in the root leaves out what it cannot reach: {' '.join(dropped)}", flush=True)
        write_frames(root / FRAMES.lstrip("/"), n_frames)
        t0 = time.monotonic()
        print("install.sh in the root (pip fetches the aarch64 wheels)", flush=True)
        inst = install(root, out)
        times["install_s"] = time.monotonic() - t0
        run = monitor = None
        if inst["returncode"] == 0:
            t0 = time.monotonic()
            robot_summary = root / "tmp/arm64-summary.json"
            robot_summary.unlink(missing_ok=True)
            with start_broker(kind="auto") as broker, subscriber(broker.port, out / "monitor_summary.json"):
                print(f"crackbot-edge in the root, broker {broker.kind} on 127.0.0.1:{broker.port}", flush=True)
                proc = in_root(root, [f"{PREFIX}/bin/crackbot-edge", "--max-frames", str(n_frames), "--summary",
                                      "/tmp/arm64-summary.json", "--set", "mqtt.host=127.0.0.1",
                                      "--set", f"mqtt.port={broker.port}"], 1800)
            times["run_s"] = time.monotonic() - t0
            run = json.loads(robot_summary.read_text()) if robot_summary.is_file() else None
            if proc.returncode != 0:
                inst["run_error"] = f"exit {proc.returncode}: {tail(proc, 10)}"
            if (out / "monitor_summary.json").is_file():
                monitor = json.loads((out / "monitor_summary.json").read_text())
    times["total_s"] = time.monotonic() - started
    checks = verdict(inst, run, monitor, n_frames)
    return {
        "ok": all(checks.values()), "checks": checks, "root_built_now": built, "root": str(root),
        "host": platform.machine(), "in_root": inst["versions"], "package": inst["archive"],
        "install_error": None if checks["installed"] else inst["stderr_tail"], "run_error": inst.get("run_error"),
        "frames": n_frames, "frames_analysed": (run or {}).get("frames"), "tiles": (run or {}).get("tiles"),
        "cracks": (run or {}).get("cracks"), "events_published": (run or {}).get("events_published"),
        "events_acked": (run or {}).get("events_acked"), "events_received": (monitor or {}).get("events_received"),
        "wall_s": {k: round(v, 1) for k, v in times.items()},
        "note": "times are under qemu-user emulation on this machine: not an ARM device's speed",
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m convert.arm64_check",
                                description="Install the device tarball into an emulated arm64 Debian bookworm "
                                "(debootstrap + qemu-user) and run the robot there on a folder of frames against a "
                                "broker and subscriber on this machine. Needs root.")
    p.add_argument("--root", type=Path, default=ROOT / "out/arm64-root",
                   help="the arm64 root, kept for the next run (default out/arm64-root)")
    p.add_argument("--out", type=Path, default=ROOT / "out/arm64",
                   help="result.json, the tarball and the subscriber's summary (default out/arm64)")
    p.add_argument("--mirror", default=MIRROR, help=f"Debian mirror for debootstrap (default {MIRROR})")
    p.add_argument("--frames", type=int, default=8, help="frames the robot analyses (default 8)")
    p.add_argument("--rebuild", action="store_true", help="make the root anew")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if sys.platform != "linux" or not hasattr(os, "geteuid"):
        print("error: the arm64 check runs on Linux (debootstrap, binfmt_misc, chroot)", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("error: the arm64 check needs root (debootstrap, mount, chroot): sudo make arm64-check", file=sys.stderr)
        return 2
    if args.frames < 1:
        print("error: --frames must be at least 1", file=sys.stderr)
        return 2
    root = args.root.resolve()
    if args.rebuild:
        unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)
    try:
        result = run_check(root, args.out.resolve(), args.mirror, args.frames)
    except (CheckError, CrackbotError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    v = result["in_root"]
    print(f"arm64 check: {'ok' if result['ok'] else 'FAILED'} ({v.get('machine')}, Python {v.get('python')}, "
          f"numpy {v.get('numpy')}, OpenCV {v.get('opencv')}, LiteRT {v.get('litert')})")
    print(f"  frames analysed {result['frames_analysed']} of {result['frames']}, tiles {result['tiles']}, "
          f"cracks {result['cracks']}; events published {result['events_published']}, acknowledged "
          f"{result['events_acked']}, received by the subscriber {result['events_received']}")
    print("  wall time (emulated, not a device's speed): " + ", ".join(f"{k} {v}" for k, v in result["wall_s"].items()))
    for check, passed in result["checks"].items():
        if not passed:
            print(f"  failed: {check}")
    for key in ("install_error", "run_error"):
        if result[key]:
            print(f"  {key}: {result[key]}")
    print(f"  result -> {args.out / 'result.json'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
