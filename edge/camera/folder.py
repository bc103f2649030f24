"""Frames from image files in a folder, in name order; unreadable files are skipped and counted."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator

import cv2

from ..errors import CameraError
from ..types import Frame, Pose
from .base import Camera

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


class FolderCamera(Camera):
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
        start = time.time()
        index = 0
        for path in self.files:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                self.skipped += 1
                log.warning("skipped unreadable frame %s", path.name)
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            pose = None
            if self.cfg.mm_per_px:
                # Without a robot pose the frame centre is taken as the origin of the wall.
                h, w = rgb.shape[:2]
                pose = Pose(x_mm=w / 2 * self.cfg.mm_per_px, y_mm=h / 2 * self.cfg.mm_per_px, mm_per_px=self.cfg.mm_per_px)
            yield Frame(rgb=rgb, ts=start + index / self.cfg.fps, index=index, pose=pose)
            index += 1
