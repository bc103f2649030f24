"""Frames from image files in a folder, in name order; unreadable files are skipped and counted."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator

import cv2

from edge.errors import CameraError
from edge.types import Frame
from edge.camera.base import Camera
from edge.camera.imagesize import image_size

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
            bgr = self._read(path)
            if bgr is None:
                continue
            # No position of its own: a pose source (mqtt, csv) places it; the scale alone gives mm sizes.
            yield Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts=start + index / self.cfg.fps, index=index,
                        mm_per_px=self.cfg.mm_per_px)
            index += 1

    def _read(self, path: Path):
        """The decoded frame, or None (counted, logged) when it is unreadable or over max_pixels."""
        size = image_size(path)
        if size is not None and self._over_cap(path, size[0] * size[1]):
            return None
        try:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        except (cv2.error, MemoryError) as exc:  # OpenCV's own pixel limit, or no memory for it
            bgr = None
            log.warning("skipped frame %s: %s", path.name, str(exc).strip().splitlines()[-1][:200])
        if bgr is None:
            self.skipped += 1
            log.warning("skipped unreadable frame %s", path.name)
            return None
        if size is None and self._over_cap(path, bgr.shape[0] * bgr.shape[1]):
            return None
        return bgr

    def _over_cap(self, path: Path, pixels: int) -> bool:
        if self.max_pixels is None or pixels <= self.max_pixels:
            return False
        self.skipped += 1
        self.too_large += 1
        log.warning(
            "skipped frame %s: %d pixels, over pipeline.max_frame_pixels %d", path.name, pixels, self.max_pixels
        )
        return True
