"""Raspberry Pi CSI camera through picamera2: a main stream kept for evidence, a low-resolution
stream sized to the model's tiling that is analysed, and an exposure short enough for the robot's speed.

picamera2 is imported only here, when this backend is selected; where it is missing the error
says what to install.
"""
from __future__ import annotations

import logging
from typing import Optional

import cv2
import numpy as np

from edge.errors import CameraError
from edge.camera.live import LiveCamera

log = logging.getLogger(__name__)

INSTALL_HINT = ("picamera2 is not installed: on Raspberry Pi OS run `sudo apt install python3-picamera2` and "
                "create the venv with --system-site-packages (it is not on PyPI for the Pi's libcamera)")


def max_exposure_us(robot_speed_mm_s: float, mm_per_px: float, max_blur_px: float) -> int:
    """Longest exposure that smears the image by at most max_blur_px pixels at the robot's speed."""
    return max(1, int(max_blur_px * mm_per_px / robot_speed_mm_s * 1e6))


def _import_picamera2():
    try:
        from picamera2 import Picamera2
    except ImportError:
        raise CameraError(f"camera.type picamera2: {INSTALL_HINT}") from None
    return Picamera2


class Picamera2Camera(LiveCamera):
    def __init__(self, cfg, mm_per_px: Optional[float] = None):
        self._Picamera2 = _import_picamera2()
        self._cam = None
        scale = cfg.mm_per_px or mm_per_px
        # Without a scale the exposure cannot be derived; the sensor's auto exposure then decides.
        self.exposure_us = max_exposure_us(cfg.robot_speed_mm_s, scale, cfg.max_blur_px) if scale else None
        super().__init__(cfg)

    def _open(self) -> None:
        cfg = self.cfg
        try:
            cam = self._Picamera2(cfg.camera_num)
            controls = {"FrameRate": cfg.fps}
            if self.exposure_us is not None:
                controls["ExposureTime"] = min(self.exposure_us, int(1e6 / cfg.fps))  # gain stays automatic
            config = cam.create_video_configuration(
                main={"size": tuple(cfg.main_size), "format": "RGB888"},
                lores={"size": tuple(cfg.lores_size), "format": "YUV420"},
                controls=controls, buffer_count=4,
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:  # libcamera raises RuntimeError, IndexError (no camera) and more
            raise CameraError(f"camera {cfg.camera_num}: cannot start picamera2 ({exc})") from None
        self._cam = cam
        self.last_main: Optional[np.ndarray] = None

    def _read(self) -> Optional[np.ndarray]:
        try:
            request = self._cam.capture_request()
        except Exception as exc:
            log.warning("picamera2 capture failed: %s", exc)
            return None
        try:
            # picamera2's RGB888 is B, G, R in memory; keep the main stream for evidence crops.
            self.last_main = cv2.cvtColor(request.make_array("main"), cv2.COLOR_BGR2RGB)
            if self.cfg.analyse == "main":
                return self.last_main
            yuv = request.make_array("lores")
            return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
        finally:
            request.release()  # buffers go back to the camera even when conversion fails

    def _extras(self) -> dict:
        return {"hires": self.last_main} if self.cfg.analyse == "lores" else {}

    def _release(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            except Exception as exc:
                log.warning("picamera2 close: %s", exc)
            self._cam = None
