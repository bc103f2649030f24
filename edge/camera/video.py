"""Frames from a video file, timestamped by their position in the file; `loop` starts it again (soak tests),
`realtime` paces them at fps like a live camera (replaying a recorded inspection, benchmarks)."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator

import cv2

from edge.errors import CameraError
from edge.types import Frame
from edge.camera.base import Camera

log = logging.getLogger(__name__)


class VideoCamera(Camera):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.live = cfg.realtime  # a file waits for the reader: no frame needs dropping unless paced
        self.path = Path(cfg.path)
        if not self.path.is_file():
            raise CameraError(f"camera.path {self.path}: no such file")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise CameraError(f"camera.path {self.path}: not a video OpenCV can read")
        file_fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = cfg.fps or (file_fps if file_fps and file_fps > 0 else 10.0)

    def frames(self) -> Iterator[Frame]:
        start = self.cfg.start_ts if self.cfg.start_ts is not None else time.time()
        paced_from = time.monotonic()
        index = 0
        while True:
            ok, bgr = self._cap.read()
            if not ok or bgr is None:
                if self.cfg.loop and index > 0:
                    self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    ok, bgr = self._cap.read()
                if not ok or bgr is None:
                    return
            if self.cfg.realtime:
                time.sleep(max(0.0, paced_from + index / self.fps - time.monotonic()))
            yield Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts=start + index / self.fps, index=index)
            index += 1

    def close(self) -> None:
        self._cap.release()
