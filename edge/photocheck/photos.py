"""The photo sets a photo check reads: folders of photos with masks, and crack-free (or cracked)
patch folders without masks.

- DIR/images/NAME.(jpg|png) with DIR/masks/NAME.png (255 = crack): scored against the mask;
- DIR/Negative/*: crack-free patches, where any report is a false alarm;
- DIR/Positive/*: crack patches without masks, where only found or missed is known.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import cv2
import numpy as np

from edge.camera.folder import IMAGE_SUFFIXES
from edge.errors import DataError

GENERIC_NAMES = {"train", "test", "val", "valid", "validation", "images", "data", "dataset"}


@dataclass(frozen=True)
class PhotoSet:
    name: str  # e.g. "deepcrack/train" or "ozgenel_concrete_227/Negative"
    kind: str  # "masks", "negative" or "positive"
    folder: Path  # the folder of photos the robot's folder camera reads
    masks: Dict[str, Path]  # photo stem -> mask file (kind "masks" only)


def _set_name(folder: Path) -> str:
    folder = folder.resolve()
    if folder.name.lower() in GENERIC_NAMES and folder.parent.name:
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def photo_files(folder: Path) -> List[Path]:
    """The photos of a folder in the order the folder camera reads them (name order)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def find_sets(folder) -> List[PhotoSet]:
    """The photo sets in one data folder, in either convention."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found")
    name = _set_name(folder)
    if (folder / "images").is_dir() and (folder / "masks").is_dir():
        masks = {p.stem: p for p in photo_files(folder / "masks")}
        return [PhotoSet(name, "masks", folder / "images", masks)]
    sets = [PhotoSet(f"{name}/{sub}", kind, folder / sub, {})
            for sub, kind in (("Negative", "negative"), ("Positive", "positive")) if (folder / sub).is_dir()]
    if not sets:
        raise DataError(f"{folder}: expected images/ + masks/, or Negative/ and/or Positive/ patch folders")
    return sets


def read_mask(path: Path) -> Optional[np.ndarray]:
    """bool crack mask (anything above 127 is crack), or None when unreadable."""
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return None if mask is None or mask.size == 0 else mask > 127


def readable(path: Path) -> Optional[np.ndarray]:
    """The photo as RGB, or None where the folder camera would skip it (unreadable)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
