"""Camera backends, one module each, chosen by the config's `camera.type`.

Each camera section of the config schema names the class that opens it (`backend`, edge/config/schema.py),
so the list of cameras is written once. A backend is imported only when selected, so hardware libraries
load only where they exist, and an install without the simulator (edge/sim) runs every other camera.
"""
from __future__ import annotations

import importlib

from edge.errors import CameraError


def open_camera(cfg, mm_per_px=None):
    """Instantiate the backend that `cfg` (a camera section of the config) names, with that section (and
    the scale, which picamera2 needs for its exposure limit)."""
    module_name, class_name = cfg.backend.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):  # the backend itself is missing, not a library it needs
            raise CameraError(f"camera.type {cfg.type}: {module_name} is not part of this install") from None
        raise
    cls = getattr(module, class_name)
    return cls(cfg, mm_per_px=mm_per_px) if cfg.type == "picamera2" else cls(cfg)
