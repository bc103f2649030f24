"""Frames from image files in a folder, in name order; unreadable files are skipped and counted."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator

import cv2

from ..errors import CameraError
from ..types import Frame
from .base import Camera

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


class FolderCamera(Camera):
    live = False  # files wait for the reader: no frame needs dropping

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        folder = Path(cfg.path)
        if not folder.is_dir():
            raise CameraError(f"camera.path {folder}: not a folder")
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise CameraError(f"camera.path {folder}: no .jpg/.png images")

    def frames(self) -> Iterator[Frame]:
        start = self.cfg.start_ts if self.cfg.start_ts is not None else time.time()
        index = 0
        for path in self.files:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                self.skipped += 1
                log.warning("skipped unreadable frame %s", path.name)
                continue
            # No position of its own: a pose source (mqtt, csv) places it; the scale alone gives mm sizes.
            yield Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts=start + index / self.cfg.fps, index=index,
                        mm_per_px=self.cfg.mm_per_px)
            index += 1
