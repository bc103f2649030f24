"""Camera backends, one module each, chosen by the config's `camera.type`.

A backend is imported only when selected, so hardware libraries load only where they exist.
"""
from __future__ import annotations

import importlib

from ..errors import CameraError

# type -> (module, class); the module is imported on demand.
BACKENDS = {
    "sim": ("edge.camera.sim", "SimCamera"),
    "folder": ("edge.camera.folder", "FolderCamera"),
    "opencv": ("edge.camera.opencv", "OpenCVCamera"),
    "video": ("edge.camera.video", "VideoCamera"),
    "picamera2": ("edge.camera.picamera2", "Picamera2Camera"),
    "gstreamer": ("edge.camera.gstreamer", "GStreamerCamera"),
}


def open_camera(cfg, mm_per_px=None):
    """Instantiate the backend named by `cfg.type` with its config section (and the scale, which
    picamera2 needs for its exposure limit)."""
    try:
        module_name, class_name = BACKENDS[cfg.type]
    except KeyError:
        raise CameraError(f"camera.type {cfg.type!r}: unknown (known: {', '.join(sorted(BACKENDS))})") from None
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name)
    return cls(cfg, mm_per_px=mm_per_px) if cfg.type == "picamera2" else cls(cfg)
