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
}


def open_camera(cfg):
    """Instantiate the backend named by `cfg.type` with its config section."""
    try:
        module_name, class_name = BACKENDS[cfg.type]
    except KeyError:
        raise CameraError(f"camera.type {cfg.type!r}: unknown (known: {', '.join(sorted(BACKENDS))})") from None
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(cfg)
