"""The worst photos of a set as one PNG: per row the photo, its mask with the reference figures, and the
photo with what the robot reported (boxes and figures)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from edge.photocheck.photos import read_mask, readable
from edge.photocheck.score import badness

ROW_HEIGHT = 240
RED, GREEN, WHITE = (230, 40, 40), (40, 200, 60), (255, 255, 255)


def _label(img: np.ndarray, lines: List[str], colour) -> None:
    for i, text in enumerate(lines):
        y = 16 + 16 * i
        cv2.putText(img, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)


def _fit(img: np.ndarray) -> np.ndarray:
    scale = ROW_HEIGHT / img.shape[0]
    return cv2.resize(img, (max(1, int(round(img.shape[1] * scale))), ROW_HEIGHT), interpolation=cv2.INTER_AREA)


def _figures_text(f: Optional[dict], what: str) -> List[str]:
    if f is None:
        return [f"{what}: none"]
    return [f"{what}: L {f['length']:.0f} px", f"w max {f['width_max']:.1f} mean {f['width_mean']:.1f}"]


def photo_row(photo: Path, mask_path: Path, row: dict) -> Optional[np.ndarray]:
    rgb, mask = readable(photo), read_mask(mask_path)
    if rgb is None or mask is None:
        return None
    truth = np.repeat((mask.astype(np.uint8) * 255)[:, :, None], 3, axis=2)
    reported = rgb.copy()
    for crack in row.get("cracks", []):
        x0, y0, x1, y1 = crack["bbox_px"]
        cv2.rectangle(reported, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), RED, 2)
    panels = [_fit(rgb), _fit(truth), _fit(reported)]
    _label(panels[0], [photo.name[:32]], WHITE)
    _label(panels[1], _figures_text(row["truth"], "mask"), GREEN)
    _label(panels[2], _figures_text(row["reported"], "reported"), RED)
    gap = np.full((ROW_HEIGHT, 4, 3), 255, np.uint8)
    return np.hstack([panels[0], gap, panels[1], gap, panels[2]])


def worst_photos(result: dict, mode: str, out: Path, count: int = 4) -> Optional[Path]:
    """Write the `count` worst photos of one set (by score.badness) to `out` as a PNG."""
    rows = sorted((r for r in result[mode]["photos"] if r["cracked"]), key=badness, reverse=True)[:count]
    folder = Path(result["folder"])
    strips = [s for s in (photo_row(folder / r["photo"], Path(r["mask"]), r) for r in rows) if s is not None]
    if not strips:
        return None
    width = max(s.shape[1] for s in strips)
    strips = [np.pad(s, ((0, 4), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in strips]
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack(strips), cv2.COLOR_RGB2BGR))
    return out
