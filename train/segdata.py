"""Segmentation data: whole image/mask pairs in memory, split by source image, and random
training crops of the model's input size.

A segmentation folder is DIR/images/NAME.(jpg|png) with DIR/masks/NAME.png (255 = crack).
Images keep their own size here; training draws random crops (with a little scale jitter)
and validation/evaluation predicts whole images tile by tile (see `predict_tiled`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from edge.errors import DataError

from .data import (
    _image_files,
    convention,
    manifest_photos,
    photo_id,
    read_mask,
    read_rgb,
    resize,
    source_name,
)
from .split import source_rng

log = logging.getLogger(__name__)

@dataclass
class SegSet:
    """Image/mask pairs of any size, with their source folder and source-photo group."""

    images: List[np.ndarray]  # uint8 RGB (H, W, 3)
    masks: List[np.ndarray]  # bool (H, W), True = crack
    sources: np.ndarray  # (N,) object: source name
    groups: np.ndarray  # (N,) object: source photo id within its source
    names: List[str] = field(default_factory=list)
    info: Dict[str, dict] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index) -> "SegSet":
        index = [int(i) for i in np.asarray(index, np.int64)]
        return SegSet(
            [self.images[i] for i in index], [self.masks[i] for i in index],
            self.sources[index] if index else self.sources[:0], self.groups[index] if index else self.groups[:0],
            [self.names[i] for i in index] if self.names else [], self.info,
        )

    def source_names(self) -> List[str]:
        return list(dict.fromkeys(str(s) for s in self.sources))

    def by_source(self) -> Dict[str, "SegSet"]:
        return {n: self.subset(np.flatnonzero(self.sources == n)) for n in self.source_names()}

    def crack_fraction(self) -> float:
        """Share of crack pixels over all masks: the class balance of a segmentation set."""
        total = sum(m.size for m in self.masks)
        return float(sum(int(m.sum()) for m in self.masks)) / total if total else 0.0

    def balance(self) -> Dict[str, float]:
        return {
            "n": len(self),
            "photos": len(set(self.groups.tolist())),
            "crack_pixel_fraction": round(self.crack_fraction(), 5),
        }


def concat_seg(sets: Sequence[SegSet]) -> SegSet:
    sets = [s for s in sets if len(s)]
    if not sets:
        raise DataError("no image/mask pairs to train or evaluate on")
    info: Dict[str, dict] = {}
    for s in sets:
        info.update(s.info)
    return SegSet(
        [im for s in sets for im in s.images], [m for s in sets for m in s.masks],
        np.concatenate([s.sources for s in sets]), np.concatenate([s.groups for s in sets]),
        [n for s in sets for n in s.names], info,
    )


def read_seg_folder(folder) -> SegSet:
    """Every readable image/mask pair of a segmentation folder; unreadable, unpaired or
    mismatched files are skipped, counted in info and logged once."""
    folder = Path(folder)
    if convention(folder) != "segmentation":
        raise DataError(f"{folder}: a segmentation model needs images/ + masks/, not Positive/ + Negative/")
    name = source_name(folder)
    masks = {p.stem: p for p in _image_files(folder / "masks")}
    images, mask_list, groups, names, bad = [], [], [], [], []
    files = _image_files(folder / "images")
    photos = manifest_photos(folder)
    for path in files:
        mask_path = masks.get(path.stem)
        if mask_path is None:
            bad.append(f"{path.name} (no mask)")
            continue
        rgb, mask = read_rgb(path), read_mask(mask_path)
        if rgb is None or mask is None:
            bad.append(path.name if rgb is None else f"masks/{mask_path.name}")
            continue
        if mask.shape != rgb.shape[:2]:
            bad.append(f"{path.name} (mask size differs)")
            continue
        images.append(rgb)
        mask_list.append(mask)
        groups.append(photos.get(path.stem) or photo_id(path.stem))
        names.append(path.name)
    if bad:
        log.warning("%s: skipped %d file(s), e.g. %s", folder, len(bad), bad[0])
    if not images:
        raise DataError(f"{folder}: no usable image/mask pairs in images/ and masks/")
    info = {"path": str(folder), "convention": "segmentation", "files": len(files), "skipped": len(bad),
            "photos": len(set(groups))}
    return SegSet(images, mask_list, np.full(len(images), name, dtype=object), np.asarray(groups, dtype=object),
                  names, {name: info})


def synthetic_seg(n: int, size: int = 227, seed: int = 0, crack_fraction: float = 0.8) -> SegSet:
    """Generated tiles with exact masks (edge.sim), concrete and masonry, tile-sized like the
    edge's; a share without any crack teaches the model to leave clean texture empty."""
    from edge.sim import make_patches

    images, masks, _ = make_patches(int(n), size=size, seed=seed, crack_fraction=crack_fraction)
    info = {"path": "edge.sim", "convention": "synthetic", "files": int(n), "seed": int(seed), "skipped": 0,
            "photos": int(n)}
    return SegSet(list(images), [m > 127 for m in masks], np.full(n, "synthetic", dtype=object),
                  np.asarray([f"s{i}" for i in range(n)], dtype=object), [f"synthetic_{i}" for i in range(n)],
                  {"synthetic": info})


# Training walls' seeds start here; the scan-check's walls (seeds 1-28 in the README) are never trained on.
WALL_SEED_BASE = 1000
WALLS_NOTE = ("Tiles cut from whole walls drawn by `edge.sim.render_wall` in this repository (concrete and "
              "masonry, 2048 px square at 0.5 mm/px, 4 cracks each with branches thinning to fine tips, among "
              "stains, spots and formwork lines), seeds from 1000 on; no third-party terms.")


def synthetic_wall_seg(n_walls: int, size: int = 227, seed: int = 0, tiles_per_crack: int = 4,
                       random_tiles: int = 4) -> SegSet:
    """Tiles of synthetic walls as the robot's camera sees them: a wall's cracks end in branches and
    tips under a pixel wide and sit among round spots and stains, which the single-crack patches of
    `synthetic_seg` do not show. Most tiles are centred near a crack pixel, a few anywhere; all tiles
    of a wall are one group, so a wall is on one side of the split."""
    from edge.sim import render_wall

    rng = np.random.default_rng(seed)
    images, masks, groups, names = [], [], [], []
    for w in range(int(n_walls)):
        wall_seed = WALL_SEED_BASE + 10_000 * int(seed) + w
        wall = render_wall(2048, 2048, n_cracks=4, kind=("concrete", "masonry")[w % 2], seed=wall_seed)
        h, wd = wall.mask.shape
        centres = []
        for crack in wall.cracks:
            x0, y0, x1, y1 = (int(v) for v in crack.bbox_px)
            ys, xs = np.nonzero(wall.mask[y0:y1, x0:x1])
            for k in rng.choice(len(ys), size=min(tiles_per_crack, len(ys)), replace=False):
                jitter = rng.integers(-size // 3, size // 3 + 1, 2)
                centres.append((y0 + ys[k] + jitter[0], x0 + xs[k] + jitter[1]))
        centres += [(rng.integers(h), rng.integers(wd)) for _ in range(random_tiles)]
        for k, (cy, cx) in enumerate(centres):
            y = int(np.clip(cy - size // 2, 0, h - size))
            x = int(np.clip(cx - size // 2, 0, wd - size))
            images.append(wall.rgb[y:y + size, x:x + size].copy())
            masks.append(wall.mask[y:y + size, x:x + size] > 0)
            groups.append(f"wall{wall_seed}")
            names.append(f"wall{wall_seed}_{k}")
    n = len(images)
    info = {"path": "edge.sim.render_wall", "convention": "synthetic", "files": int(n_walls), "seed": int(seed),
            "skipped": 0, "photos": int(n_walls), "about": WALLS_NOTE}
    return SegSet(images, masks, np.full(n, "synthetic_walls", dtype=object), np.asarray(groups, dtype=object),
                  names, {"synthetic_walls": info})


def load_seg_data(folders: Sequence = (), synthetic: int = 0, seed: int = 0, size: int = 227,
                  synthetic_walls: int = 0) -> SegSet:
    sets, seen = [], set()
    for folder in folders:
        s = read_seg_folder(folder)
        name = s.source_names()[0]
        if name in seen:
            raise DataError(f"{folder}: a data folder named {name!r} was given twice")
        seen.add(name)
        sets.append(s)
    if synthetic > 0:
        sets.append(synthetic_seg(int(synthetic), size=size, seed=seed))
    if synthetic_walls > 0:
        sets.append(synthetic_wall_seg(int(synthetic_walls), size=size, seed=seed))
    if not sets:
        raise DataError("no data: give --data DIR (images/ + masks/) or a number of synthetic pairs")
    data = concat_seg(sets)
    for name, part in data.by_source().items():
        b = part.balance()
        log.info("data %s: %d pairs from %d photos, %.2f %% crack pixels", name, b["n"], b["photos"],
                 100 * b["crack_pixel_fraction"])
    return data


def split_seg_by_photo(data: SegSet, val_fraction: float = 0.15, seed: int = 0) -> Tuple[SegSet, SegSet]:
    """(train, validation): a seeded share of each source's photos; every crop of a photo goes
    to the same side."""
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    val = np.zeros(len(data), bool)
    for name in data.source_names():
        in_source = data.sources == name
        photos = sorted(set(data.groups[in_source].tolist()))
        n_val = int(round(len(photos) * val_fraction))
        if val_fraction > 0 and n_val == 0 and len(photos) >= 2:
            n_val = 1
        chosen = set(source_rng(seed, name).permutation(np.asarray(photos, dtype=object))[:n_val].tolist())
        val |= in_source & np.asarray([g in chosen for g in data.groups], bool)
    return data.subset(np.flatnonzero(~val)), data.subset(np.flatnonzero(val))


# --- tiled prediction ---------------------------------------------------------------------------


def predict_tiled(predict: Callable[[np.ndarray], np.ndarray], image: np.ndarray, size: int,
                  batch: int = 8) -> np.ndarray:
    """Crack probability (H, W) float32 of a whole image from a model of square input `size`:
    overlapping tiles (the last flush with the edge) averaged where they overlap; an image
    smaller than a tile is resized up and the prediction back down. `predict` maps uint8
    (B, size, size, 3) to probabilities (B, size, size)."""
    h, w = image.shape[:2]
    if h < size or w < size:
        prob = predict(resize(image, size)[None])[0]
        return _resize_prob(prob, h, w)
    ys, xs = _overlapping(h, size), _overlapping(w, size)
    acc = np.zeros((h, w), np.float32)
    cnt = np.zeros((h, w), np.float32)
    origins = [(y, x) for y in ys for x in xs]
    for start in range(0, len(origins), batch):
        chunk = origins[start:start + batch]
        tiles = np.stack([image[y:y + size, x:x + size] for y, x in chunk])
        probs = predict(tiles)
        for (y, x), p in zip(chunk, probs):
            acc[y:y + size, x:x + size] += p
            cnt[y:y + size, x:x + size] += 1
    return acc / np.maximum(cnt, 1)


def _overlapping(length: int, size: int) -> List[int]:
    # Half-tile steps: every pixel away from the border is seen by a tile that does not cut it.
    if length <= size:
        return [0]
    return sorted(set(range(0, length - size + 1, max(1, size // 2))) | {length - size})


def _resize_prob(prob: np.ndarray, h: int, w: int) -> np.ndarray:
    import cv2

    return cv2.resize(prob.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
