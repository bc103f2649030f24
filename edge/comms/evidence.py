"""Evidence crops of cracks as JPEG files, in a folder kept under a disk cap (oldest removed first)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

log = logging.getLogger(__name__)


class EvidenceStore:
    def __init__(self, folder, max_mb: float, margin_px: int = 32):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.margin = margin_px
        self.saved = 0
        self.removed = 0
        self._files = sorted(self.folder.glob("*.jpg"), key=lambda p: p.stat().st_mtime)
        self._bytes = sum(p.stat().st_size for p in self._files)

    def save(self, rgb: np.ndarray, bbox_px, name: str, hires: Optional[np.ndarray] = None) -> Optional[Path]:
        """Write the crack box (plus margin) of a frame, cut from `hires` (the same view at a higher
        resolution) when there is one; returns the path, or None if it could not be written."""
        x0, y0, x1, y1 = bbox_px
        m = self.margin
        if hires is not None:
            fy, fx = hires.shape[0] / rgb.shape[0], hires.shape[1] / rgb.shape[1]
            x0, x1, y0, y1 = int(x0 * fx), int(np.ceil(x1 * fx)), int(y0 * fy), int(np.ceil(y1 * fy))
            m, rgb = int(m * fx), hires
        h, w = rgb.shape[:2]
        crop = rgb[max(0, y0 - m) : min(h, y1 + m), max(0, x0 - m) : min(w, x1 + m)]
        if crop.size == 0:
            return None
        path = self.folder / f"{name}.jpg"
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            return None
        try:
            path.write_bytes(data.tobytes())
        except OSError as exc:  # a full disk must not stop the inspection
            log.warning("evidence crop %s not written: %s", path.name, exc)
            return None
        self._files.append(path)
        self._bytes += len(data)
        self.saved += 1
        self._enforce_cap()
        return path

    def _enforce_cap(self) -> None:
        while self._bytes > self.max_bytes and len(self._files) > 1:
            old = self._files.pop(0)
            try:
                size = old.stat().st_size
                old.unlink()
            except OSError:
                size = 0
            self._bytes -= size
            self.removed += 1

    @property
    def bytes_used(self) -> int:
        return self._bytes
