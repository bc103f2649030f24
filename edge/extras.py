"""Optional dependencies: which extra of the package brings each, and one line saying so when one is
missing, before any work is done rather than in a traceback after it."""
from __future__ import annotations

import importlib.util
from typing import Dict, Optional, Tuple

from edge.errors import CrackbotError

# extra -> the optional modules (top-level names) that it installs
EXTRAS: Dict[str, Tuple[str, ...]] = {
    "device": ("cv2", "ai_edge_litert"),
    "train": ("tensorflow", "keras", "matplotlib", "tflite"),
    "check": ("skimage",),
    "mcu": ("tflite_micro",),
    "broker": ("amqtt",),
    "monitor": ("jinja2",),  # the inspection report's template (edge/report), for monitor and edge inspect
}
NOTES = {
    "cv2": "on a Jetson: apt install python3-opencv, in a venv made with --system-site-packages",
    "ai_edge_litert": "numpy<2 systems: 'crackbot[legacy-runtime]'",
}


class MissingModule(CrackbotError):
    """An optional dependency that the asked-for work needs is not installed."""


def install_hint(module: str) -> Optional[str]:
    """The one line for a missing optional module; None for a module no extra brings (a bug, not a setup)."""
    top = module.split(".")[0]
    extra = next((name for name, modules in EXTRAS.items() if top in modules), None)
    if extra is None:
        return None
    note = f" ({NOTES[top]})" if top in NOTES else ""
    return f"needs the module {top!r}, which is not installed: pip install 'crackbot[{extra}]'{note}"


def require(*modules: str) -> None:
    """MissingModule naming the extra for the first of `modules` that cannot be imported (nothing is imported)."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingModule(install_hint(module) or f"needs the module {module!r}, which is not installed")
