"""Patch data sets from folders in either data convention, plus synthetic patches.

classification: DIR/Positive/* (crack) and DIR/Negative/* (no crack), one patch per file.
segmentation:   DIR/images/NAME.(jpg|png) with DIR/masks/NAME.png; each image is cut into
                model-size patches, labelled from the mask (see `label_from_mask`).
Everything comes out as uint8 RGB patches of the model's input size.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from edge.errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
CLASS_DIRS = {"Positive": 1, "Negative": 0}
LABELS = ("no_crack", "crack")
# Folder names that say nothing on their own: name such a source by its parent too.
_GENERIC_NAMES = {"train", "test", "val", "valid", "validation", "training", "data", "dataset"}


@dataclass
class PatchSet:
    """Patches with their labels, the source each came from and the file (group) id within it."""

    images: np.ndarray  # (N, S, S, 3) uint8 RGB
    labels: np.ndarray  # (N,) int64, 1 = crack
    sources: np.ndarray  # (N,) source name, e.g. "ozgenel_concrete_227" or "synthetic"
    groups: np.ndarray  # (N,) int64 file id within its source: patches of one file share it
    info: Dict[str, dict] = field(default_factory=dict)  # per source: path, convention, counts

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def size(self) -> int:
        return int(self.images.shape[1]) if len(self) else 0

    def subset(self, index) -> "PatchSet":
        index = np.asarray(index, np.int64)
        return PatchSet(self.images[index], self.labels[index], self.sources[index], self.groups[index], self.info)

    def source_names(self) -> List[str]:
        """Sources in the order they were loaded."""
        seen = dict.fromkeys(str(s) for s in self.sources)
        return list(seen)

    def by_source(self) -> Dict[str, "PatchSet"]:
        return {name: self.subset(np.flatnonzero(self.sources == name)) for name in self.source_names()}

    def balance(self) -> Dict[str, int]:
        crack = int(np.sum(self.labels == 1))
        return {"n": len(self), "crack": crack, "no_crack": len(self) - crack}


def concat(sets: Sequence[PatchSet]) -> PatchSet:
    sets = [s for s in sets if len(s)]
    if not sets:
        raise DataError("no patches to train or evaluate on")
    info: Dict[str, dict] = {}
    for s in sets:
        info.update(s.info)
    return PatchSet(
        np.concatenate([s.images for s in sets]),
        np.concatenate([s.labels for s in sets]),
        np.concatenate([s.sources for s in sets]),
        np.concatenate([s.groups for s in sets]),
        info,
    )


def describe(ps: PatchSet) -> List[str]:
    """One line per source with its class balance, for logs and reports."""
    lines = []
    for name, part in ps.by_source().items():
        b = part.balance()
        extra = ps.info.get(name, {})
        skipped = extra.get("skipped", 0) + extra.get("ambiguous", 0)
        note = f", {skipped} skipped" if skipped else ""
        if extra.get("look_alikes"):
            note += f", {extra['look_alikes']} of them cracks painted out"
        lines.append(f"{name}: {b['n']} patches ({b['crack']} crack / {b['no_crack']} no crack{note})")
    return lines


# --- reading -----------------------------------------------------------------------------------


def convention(folder: Path) -> str:
    """'classification' or 'segmentation'; DataError for a missing folder or one in neither layout."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found")
    if any((folder / d).is_dir() for d in CLASS_DIRS):
        return "classification"
    if (folder / "images").is_dir() and (folder / "masks").is_dir():
        return "segmentation"
    raise DataError(
        f"{folder}: not a data folder: expected Positive/ + Negative/ (classification) "
        "or images/ + masks/ (segmentation)"
    )


def source_name(folder: Path) -> str:
    folder = Path(folder).resolve()
    if folder.name.lower() in _GENERIC_NAMES and folder.parent.name:
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


# Crops of one photo are usually named PHOTO_N or PHOTO-N (Dais et al.'s a_0_10.png is crop 10 of
# photo a_0; DeepCrack's 7Q3A9064-1 ... -20 are crops of 7Q3A9064, and 11116-1 sits beside 11116).
_CROP_SUFFIX = re.compile(r"^(.+)[-_]\d+$")


def photo_id(stem: str) -> str:
    """The source photo a file was cut from, by name: 'a_0_10' -> 'a_0'; '11116-3' -> '11116';
    '11111' -> '11111'."""
    m = _CROP_SUFFIX.match(stem)
    return m.group(1) if m else stem


MANIFEST_PHOTO_COLUMNS = ("source_id", "source_photo")  # manifest.csv columns naming the photo a crop came from


def manifest_photos(folder: Path) -> Dict[str, str]:
    """File stem -> source photo, from the folder's manifest.csv (bridge tiles and marble crops name theirs),
    so crops of one photo stay on one side of a split; empty without a manifest (each file its own photo)."""
    import csv

    path = Path(folder) / "manifest.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "name" not in rows[0]:
        return {}
    # A manifest without a photo column lists whole photos: each file is its own (not one photo by name pattern).
    column = next((c for c in MANIFEST_PHOTO_COLUMNS if c in rows[0]), "name")
    return {row["name"]: row[column] for row in rows if row.get("name") and row.get(column)}


def _image_files(folder: Path) -> List[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_rgb(path: Path) -> Optional[np.ndarray]:
    """uint8 RGB image, or None when the file cannot be decoded."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_mask(path: Path) -> Optional[np.ndarray]:
    """bool crack mask (255 = crack; anything above 127 counts), or None when unreadable."""
    import cv2

    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None or mask.size == 0:
        return None
    return mask > 127


def resize(image: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Resize to size x size (area filter when shrinking; nearest for masks)."""
    import cv2

    if image.shape[0] == size and image.shape[1] == size:
        return image
    if nearest:
        interp = cv2.INTER_NEAREST
    elif image.shape[0] > size or image.shape[1] > size:
        interp = cv2.INTER_AREA
    else:
        interp = cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def tile_origins(length: int, size: int) -> List[int]:
    """Tile starts covering `length`: every `size` pixels, the last one flush with the end."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size + 1, size))
    if starts[-1] + size < length:
        starts.append(length - size)
    return starts


def label_from_mask(mask: np.ndarray, center_fraction: float = 0.5, min_crack_pixels: int = 20) -> Optional[int]:
    """1 when the patch centre holds a crack, 0 when the patch has no crack pixel at all,
    None (ambiguous: a crack only near the border) otherwise; ambiguous patches are left out
    because either label would teach the model something false."""
    h, w = mask.shape
    ch, cw = max(1, int(round(h * center_fraction))), max(1, int(round(w * center_fraction)))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    if int(mask[y0 : y0 + ch, x0 : x0 + cw].sum()) >= min_crack_pixels:
        return 1
    if not mask.any():
        return 0
    return None


def _warn_skipped(folder: Path, bad: List[str], what: str) -> None:
    if bad:
        log.warning("%s: skipped %d %s file(s), e.g. %s", folder, len(bad), what, bad[0])


def _patch_set(images, labels, groups, name: str, info: dict) -> PatchSet:
    """One folder's patches, all tagged with the folder's source name."""
    return PatchSet(np.stack(images), np.asarray(labels, np.int64), np.full(len(images), name, dtype=object),
                    np.asarray(groups, np.int64), {name: info})


def read_classification_folder(folder, size: int = 227, split_block: int = 1) -> PatchSet:
    """One patch per file. Files are grouped for the split in blocks of `split_block`
    consecutive names per class: crops cut from one photo are usually numbered in a row,
    and a block keeps them on one side of the split."""
    folder = Path(folder)
    name = source_name(folder)
    block = max(1, int(split_block))
    images, labels, groups, bad = [], [], [], []
    group_base = 0
    for sub, label in CLASS_DIRS.items():
        files = _image_files(folder / sub)
        for i, path in enumerate(files):
            rgb = read_rgb(path)
            if rgb is None:
                bad.append(f"{sub}/{path.name}")
                continue
            images.append(resize(rgb, size))
            labels.append(label)
            groups.append(group_base + i // block)
        group_base += -(-len(files) // block)
    _warn_skipped(folder, bad, "unreadable")
    if not images:
        raise DataError(f"{folder}: no readable images in Positive/ or Negative/")
    info = {
        "path": str(folder),
        "convention": "classification",
        "files": len(images) + len(bad),
        "skipped": len(bad),
        "split_block": block,
    }
    return _patch_set(images, labels, groups, name, info)


def _patches_of(image: np.ndarray, mask: np.ndarray, size: int) -> Iterable[Tuple[np.ndarray, np.ndarray]]:
    h, w = image.shape[:2]
    # A small image (e.g. a 224 px patch) is one patch, resized; a large one is tiled.
    if h <= size * 1.25 and w <= size * 1.25:
        yield resize(image, size), resize(mask.astype(np.uint8), size, nearest=True).astype(bool)
        return
    for y in tile_origins(h, size):
        for x in tile_origins(w, size):
            img = image[y : y + size, x : x + size]
            msk = mask[y : y + size, x : x + size]
            if img.shape[:2] != (size, size):  # an image smaller than a tile in one direction
                img, msk = resize(img, size), resize(msk.astype(np.uint8), size, nearest=True).astype(bool)
            yield img, msk


def read_segmentation_folder(
    folder, size: int = 227, center_fraction: float = 0.5, min_crack_pixels: int = 20, look_alikes: bool = False
) -> PatchSet:
    """Patches cut along the masks; with `look_alikes`, also every cracked patch again with its (thin) crack
    painted out, as a crack-free patch of the same surface (train/hardneg.py), in the same split group."""
    from .hardneg import paint_out

    folder = Path(folder)
    name = source_name(folder)
    masks = {p.stem: p for p in _image_files(folder / "masks")}
    images, labels, groups, bad, unpaired = [], [], [], [], []
    ambiguous = look_alike_count = 0
    files = _image_files(folder / "images")
    photos = manifest_photos(folder)
    photo_ids: Dict[str, int] = {}  # source photo -> group id: all crops of a photo split together
    for path in files:
        mask_path = masks.get(path.stem)
        if mask_path is None:
            unpaired.append(path.name)
            continue
        rgb, mask = read_rgb(path), read_mask(mask_path)
        if rgb is None or mask is None:
            bad.append(path.name if rgb is None else f"masks/{mask_path.name}")
            continue
        if mask.shape != rgb.shape[:2]:
            bad.append(f"{path.name} (mask size differs)")
            continue
        group = photo_ids.setdefault(photos.get(path.stem) or photo_id(path.stem), len(photo_ids))
        for img, msk in _patches_of(rgb, mask, size):
            label = label_from_mask(msk, center_fraction, min_crack_pixels)
            if label is None:
                ambiguous += 1
                continue
            images.append(img)
            labels.append(label)
            groups.append(group)
        painted = paint_out(rgb, mask) if look_alikes else None
        if painted is not None:
            for img, msk in _patches_of(painted, mask, size):  # msk: the crack the patch held before painting
                if msk.any():
                    images.append(img)
                    labels.append(0)
                    groups.append(group)
                    look_alike_count += 1
    _warn_skipped(folder, bad, "unreadable")
    _warn_skipped(folder, unpaired, "image without a mask")
    if ambiguous:
        log.info("%s: left out %d patches with a crack only near their border", folder, ambiguous)
    if not images:
        raise DataError(f"{folder}: no usable image/mask pairs in images/ and masks/")
    info = {
        "path": str(folder),
        "convention": "segmentation",
        "files": len(files),
        "skipped": len(bad) + len(unpaired),
        "ambiguous": ambiguous,
        "look_alikes": look_alike_count,
    }
    return _patch_set(images, labels, groups, name, info)


def read_folder(
    folder, size: int = 227, center_fraction: float = 0.5, min_crack_pixels: int = 20, split_block: int = 1,
    look_alikes: bool = False,
) -> PatchSet:
    """Patches from one folder in either convention."""
    kind = convention(Path(folder))
    if kind == "classification":
        return read_classification_folder(folder, size, split_block)
    return read_segmentation_folder(folder, size, center_fraction, min_crack_pixels, look_alikes)


def synthetic_patches(n: int, size: int = 227, seed: int = 0) -> PatchSet:
    """Generated patches (edge.sim), each its own group."""
    from edge.sim import make_patches

    images, _masks, labels = make_patches(n, size=size, seed=seed)
    info = {"path": "edge.sim", "convention": "synthetic", "files": int(n), "seed": int(seed), "skipped": 0}
    return PatchSet(
        np.asarray(images, np.uint8),
        np.asarray(labels, np.int64),
        np.full(n, "synthetic", dtype=object),
        np.arange(n, dtype=np.int64),
        {"synthetic": info},
    )


def load_data(
    folders: Sequence = (),
    size: int = 227,
    synthetic: int = 0,
    seed: int = 0,
    center_fraction: float = 0.5,
    min_crack_pixels: int = 20,
    split_block: int = 1,
    look_alikes: bool = False,
) -> PatchSet:
    """Every folder (either convention) plus `synthetic` generated patches, as one PatchSet."""
    sets, names = [], set()
    for folder in folders:
        ps = read_folder(folder, size, center_fraction, min_crack_pixels, split_block, look_alikes)
        name = ps.source_names()[0]
        if name in names:  # two folders with the same name: keep them apart
            raise DataError(f"{folder}: a data folder named {name!r} was given twice")
        names.add(name)
        sets.append(ps)
    if synthetic > 0:
        sets.append(synthetic_patches(int(synthetic), size, seed))
    if not sets:
        raise DataError("no data: give --data DIR or a number of synthetic patches")
    data = concat(sets)
    for line in describe(data):
        log.info("data %s", line)
    return data
