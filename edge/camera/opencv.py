"""OpenCV capture: a USB camera by index, a GStreamer pipeline (Jetson CSI cameras) or an RTSP/file URL."""
from __future__ import annotations

import logging
import time
from typing import Iterator

import cv2

from ..errors import CameraError
from ..types import Frame
from .base import Camera

log = logging.getLogger(__name__)


class OpenCVCamera(Camera):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        source = cfg.source
        self._source = int(source) if str(source).isdigit() else str(source)
        backend = cv2.CAP_GSTREAMER if cfg.gstreamer else cv2.CAP_ANY
        self._cap = cv2.VideoCapture(self._source, backend)
        if not self._cap.isOpened():
            hint = " (is OpenCV built with GStreamer? pip's opencv is not: use the distribution's python3-opencv)" if cfg.gstreamer else ""
            raise CameraError(f"camera.source {source!r}: cannot open{hint}")
        if isinstance(self._source, int):
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, cfg.width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, cfg.height)

    def frames(self) -> Iterator[Frame]:
        index = 0
        failures = 0
        while True:
            ok, bgr = self._cap.read()
            ts = time.time()
            if not ok or bgr is None:
                self.skipped += 1
                failures += 1
                if failures >= self.cfg.max_failures:
                    log.warning("camera %r returned no frame %d times; stopping", self.cfg.source, failures)
                    return
                time.sleep(min(2.0, 0.05 * 2**failures))  # back off before the next grab
                continue
            failures = 0
            yield Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts=ts, index=index, pose=None)
            index += 1

    def close(self) -> None:
        self._cap.release()
