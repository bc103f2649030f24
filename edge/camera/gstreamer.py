"""A GStreamer pipeline (Jetson CSI cameras: nvarguscamerasrc ... ! appsink) through OpenCV's GStreamer backend.

Needs an OpenCV built with GStreamer; without one, selecting this backend says what to install.
"""
from __future__ import annotations

from edge.errors import CameraError
from edge.camera.opencv import GSTREAMER_HINT, OpenCVCamera, gstreamer_available


class GStreamerCamera(OpenCVCamera):
    def __init__(self, cfg):
        if "appsink" not in cfg.pipeline:
            raise CameraError("camera.pipeline must end in appsink (OpenCV reads frames from it)")
        if not gstreamer_available():
            raise CameraError(f"camera.type gstreamer: {GSTREAMER_HINT}")
        cfg_view = _View(cfg)
        super().__init__(cfg_view)


class _View:
    """The opencv backend's view of a gstreamer section: the pipeline is the source."""

    def __init__(self, cfg):
        self._cfg = cfg
        self.source = cfg.pipeline
        self.gstreamer = True

    def __getattr__(self, name):
        return getattr(self._cfg, name)
