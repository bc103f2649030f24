"""The robot over the photos: its config made for photos (no pose, no broker, no evidence files), the
composed robot with a photo camera and an in-memory sink, and per photo what it reported with the
pixels of each crack."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from edge.config import EdgeConfig
from edge.comms.events import final_reports
from edge.config.photos import for_photos
from edge.errors import ConfigError
from edge.inspect.camera import PhotoCamera
from edge.inspect.recorder import MaskRecorder

Box = Tuple[int, int, int, int]


@dataclass
class Photo:
    path: Path
    index: Optional[int]  # frame index; None: the camera skipped it (unreadable, too large)
    analysed: bool = False  # False for a skipped photo and one flagged as blurred
    reports: List[dict] = field(default_factory=list)  # the final crack events of this photo
    masks: List[Tuple[Box, bytes]] = field(default_factory=list)  # recorded crack pixels (MaskRecorder)


@dataclass
class Inspection:
    photos: List[Photo]
    summary: dict  # the robot's run summary
    seconds: float
    mm_per_px: Optional[float]  # None: sizes are in pixels


def photo_config(cfg: EdgeConfig, mm_per_px: Optional[float]) -> EdgeConfig:
    """The config for photos: no pose (each photo a scene of its own), the scale given (1 with none, so
    sizes are pixels), no evidence files (the overlays are the evidence), no frame dropped."""
    if not cfg.models.segmenter:
        raise ConfigError("inspect needs models.segmenter: the overlays and sizes come from its mask")
    return for_photos(cfg, mm_per_px or 1.0)


def inspect_photos(cfg: EdgeConfig, files: Sequence[Path], mm_per_px: Optional[float]) -> Inspection:
    from edge.loop.compose import compose
    from edge.loop.runner import run_robot
    from edge.sim.sink import MemorySink

    events: List[dict] = []
    camera = PhotoCamera(files)
    started = time.perf_counter()
    robot = compose(photo_config(cfg, mm_per_px), camera=camera, sink=MemorySink(events.append))
    recorder = MaskRecorder(robot.analyzer)
    robot.analyzer = recorder
    summary = run_robot(robot)
    seconds = time.perf_counter() - started
    by_frame: Dict[int, List[dict]] = {}
    for report in final_reports(events).values():
        by_frame.setdefault(report["frame"]["index"], []).append(report)
    index_of = {path: index for index, path in camera.path_of.items()}
    photos = []
    for path in files:
        index = index_of.get(path)
        photos.append(Photo(path, index, index in recorder.cracks, by_frame.get(index, []),
                            recorder.cracks.get(index, [])))
    return Inspection(photos, summary, seconds, mm_per_px)
