"""Robot poses matched to frames by time: from the robot controller over MQTT, from a CSV log, or none.

Samples are kept in time order; a frame gets the pose interpolated linearly between the samples
around its timestamp (or the nearest one within max_gap_s at either end), else no pose at all:
a crack placed with a stale pose would be placed wrongly.
"""
from __future__ import annotations

import bisect
import csv
import json
import logging
import math
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Optional

from edge.comms.topics import POSE
from edge.errors import ConfigError
from edge.types import Frame, Pose
from edge.wall.scale import mm_per_px

log = logging.getLogger(__name__)


# The bounds of edge/comms/schemas/pose.schema.json, for poses from a CSV log too: 100 km of wall either way
# keeps every crack box well inside the event schema's 1000 km.
MAX_POSE_MM = 1e8
POSE_BOUNDS = {"ts": (0.0, 1e10), "x_mm": (-MAX_POSE_MM, MAX_POSE_MM), "y_mm": (-MAX_POSE_MM, MAX_POSE_MM),
               "heading_deg": (-360.0, 360.0), "standoff_mm": (0.0, 1e6)}
MAX_POSE_BYTES = 4096


@dataclass(frozen=True)
class PoseSample:
    ts: float
    x_mm: float
    y_mm: float
    heading_deg: Optional[float] = None
    standoff_mm: Optional[float] = None

    def __post_init__(self):
        # JSON and CSV both spell NaN and Infinity; such a pose would place a crack nowhere, and a
        # finite but huge one (1e308) overflows to Infinity in the crack's wall box.
        for name in ("ts", "x_mm", "y_mm", "heading_deg", "standoff_mm"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} is {value}, not a finite number")
            low, high = POSE_BOUNDS[name]
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name} is {value:g}, outside {low:g}..{high:g}")
        if self.standoff_mm is not None and self.standoff_mm <= 0:
            raise ValueError(f"standoff_mm is {self.standoff_mm:g}, not above 0")


def _lerp(a: Optional[float], b: Optional[float], t: float) -> Optional[float]:
    if a is None or b is None:
        return a if b is None else b
    return a + (b - a) * t


def _lerp_angle(a: Optional[float], b: Optional[float], t: float) -> Optional[float]:
    if a is None or b is None:
        return a if b is None else b
    d = (b - a + 180.0) % 360.0 - 180.0  # the short way round
    return (a + d * t + 180.0) % 360.0 - 180.0


class PoseBuffer:
    """Thread-safe time-ordered pose samples; at(ts) interpolates."""

    def __init__(self, max_gap_s: float = 1.0, capacity: int = 2000):
        self.max_gap_s = max_gap_s
        self.capacity = capacity
        self._ts: List[float] = []
        self._samples: List[PoseSample] = []
        self._lock = threading.Lock()
        self.received = 0
        self.rejected = 0

    def add(self, sample: PoseSample) -> None:
        with self._lock:
            i = bisect.bisect_right(self._ts, sample.ts)  # late samples still land in order
            self._ts.insert(i, sample.ts)
            self._samples.insert(i, sample)
            if len(self._ts) > self.capacity:
                del self._ts[0], self._samples[0]
            self.received += 1

    def __len__(self) -> int:
        return len(self._ts)

    def at(self, ts: float) -> Optional[PoseSample]:
        with self._lock:
            if not self._ts:
                return None
            i = bisect.bisect_left(self._ts, ts)
            if i < len(self._ts) and self._ts[i] == ts:
                return self._samples[i]
            if 0 < i < len(self._ts):
                a, b = self._samples[i - 1], self._samples[i]
                if b.ts - a.ts > 2 * self.max_gap_s:
                    return None  # a hole in the pose stream: do not invent where the robot was
                t = (ts - a.ts) / (b.ts - a.ts)
                return PoseSample(ts, a.x_mm + (b.x_mm - a.x_mm) * t, a.y_mm + (b.y_mm - a.y_mm) * t,
                                  _lerp_angle(a.heading_deg, b.heading_deg, t), _lerp(a.standoff_mm, b.standoff_mm, t))
            nearest = self._samples[0] if i == 0 else self._samples[-1]
            return nearest if abs(nearest.ts - ts) <= self.max_gap_s else None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_pose_message(payload: bytes, robot_id: str) -> PoseSample:
    """A pose message as edge/comms/schemas/pose.schema.json defines it; ValueError with the reason otherwise."""
    from edge.comms.schemas import validator

    if len(payload) > MAX_POSE_BYTES:
        raise ValueError(f"{len(payload)} bytes, over the {MAX_POSE_BYTES} byte limit")
    try:
        data = json.loads(payload, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    except RecursionError:
        raise ValueError("not JSON (nested too deeply)") from None
    errors = list(validator("pose").iter_errors(data)) if isinstance(data, dict) else ["not an object"]
    if errors:
        first = errors[0]
        raise ValueError(getattr(first, "message", str(first)))
    if data["robot_id"] != robot_id:
        raise ValueError(f"pose for robot {data['robot_id']!r}, this is {robot_id!r}")
    return PoseSample(float(data["ts"]), float(data["x_mm"]), float(data["y_mm"]),
                      data.get("heading_deg"), data.get("standoff_mm"))


class MqttPoseListener:
    """Feeds a PoseBuffer from <root>/<robot_id>/pose through Publisher.subscribe; bad messages are counted."""

    def __init__(self, buffer: PoseBuffer, robot_id: str):
        self.buffer = buffer
        self.robot_id = robot_id

    def attach(self, publisher) -> str:
        return publisher.subscribe(POSE, self.on_message)

    def on_message(self, topic: str, payload: bytes) -> None:
        try:
            self.buffer.add(parse_pose_message(payload, self.robot_id))
        except ValueError as exc:
            self.buffer.rejected += 1
            log.warning("pose message on %s ignored: %s", topic, exc)


def load_pose_csv(path, buffer: PoseBuffer) -> int:
    """Read a pose log (header ts,x_mm,y_mm[,heading_deg][,standoff_mm]) into `buffer`; returns rows read."""
    path = Path(path)
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise ConfigError(f"pose.csv_path {path}: cannot read ({exc.strerror})") from None
    with fh:
        reader = csv.DictReader(fh)
        missing = {"ts", "x_mm", "y_mm"} - set(reader.fieldnames or [])
        if missing:
            raise ConfigError(f"pose.csv_path {path}: header lacks {', '.join(sorted(missing))}")
        rows = 0
        for line, row in enumerate(reader, start=2):
            try:
                opt = {
                    k: float(row[k]) if row.get(k) not in (None, "") else None for k in ("heading_deg", "standoff_mm")
                }
                buffer.add(PoseSample(float(row["ts"]), float(row["x_mm"]), float(row["y_mm"]), **opt))
            except (TypeError, ValueError):
                raise ConfigError(f"{path}:{line}: not a finite number in {dict(row)}") from None
            rows += 1
    if rows == 0:
        raise ConfigError(f"pose.csv_path {path}: no rows")
    return rows


class PoseAttacher:
    """Gives each frame its wall pose per config: the camera's own, a PoseBuffer's, or none (scale only)."""

    def __init__(self, pose_cfg, scale_cfg, buffer=None):
        self.source = pose_cfg.source
        self.scale_cfg = scale_cfg
        self.buffer = buffer
        self.missing = 0  # frames that needed a pose and got none

    def __call__(self, frame: Frame) -> Frame:
        if self.source == "camera":
            if frame.pose is None and frame.mm_per_px is None:
                return replace(frame, mm_per_px=mm_per_px(self.scale_cfg))
            return frame
        if self.source == "none":
            return replace(frame, pose=None, mm_per_px=frame.scale or mm_per_px(self.scale_cfg))
        sample = self.buffer.at(frame.ts) if self.buffer is not None else None
        if sample is None:
            self.missing += 1
            return replace(frame, pose=None, mm_per_px=mm_per_px(self.scale_cfg))
        scale = mm_per_px(self.scale_cfg, sample.standoff_mm)
        if scale is None:
            self.missing += 1
            return replace(frame, pose=None, mm_per_px=None)
        return replace(frame, pose=Pose(sample.x_mm, sample.y_mm, scale, sample.heading_deg or 0.0), mm_per_px=scale)
