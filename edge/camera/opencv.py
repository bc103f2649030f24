"""OpenCV capture: a USB camera by index, an RTSP/HTTP URL, or (gstreamer: true) a pipeline string."""
from __future__ import annotations

import logging
from typing import Optional

import cv2
import numpy as np

from edge.errors import CameraError
from edge.camera.live import LiveCamera

log = logging.getLogger(__name__)


def gstreamer_available() -> bool:
    """Whether this OpenCV was built with GStreamer (pip's opencv-python wheels are not)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return "YES" in line.split(":", 1)[1]
    return False


GSTREAMER_HINT = ("this OpenCV has no GStreamer support (pip's opencv-python wheels have none): install the "
                  "distribution's build (apt install python3-opencv gstreamer1.0-plugins-good; JetPack ships it) "
                  "and create the venv with --system-site-packages")


class OpenCVCamera(LiveCamera):
    def __init__(self, cfg):
        source = str(cfg.source)
        self._source = int(source) if source.isdigit() else source
        self._gstreamer = bool(getattr(cfg, "gstreamer", False))
        if self._gstreamer and not gstreamer_available():
            raise CameraError(f"camera.source: {GSTREAMER_HINT}")
        self._cap = None
        super().__init__(cfg)

    def _open(self) -> None:
        backend = cv2.CAP_GSTREAMER if self._gstreamer else cv2.CAP_ANY
        cap = cv2.VideoCapture(self._source, backend)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"camera.source {self.cfg.source!r}: cannot open")
        if isinstance(self._source, int):
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
        self._cap = cap

    def _read(self) -> Optional[np.ndarray]:
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
