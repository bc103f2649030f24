"""Patches with and without a crack, and the classification and segmentation folders made of them
(the tests' and train/'s generated data)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator, Sequence, Tuple

import cv2
import numpy as np

from edge.sim.cracks import draw_crack
from edge.sim.distractors import add_patch_distractors
from edge.sim.textures import PATCH_PX_PER_MM, check_count, check_kind, check_kinds, check_size, texture_at_scale

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Patches


def _patch_crack(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """A crack that enters near one edge and crosses most of the patch."""
    size = rgb.shape[0]
    base = rgb.copy()
    for _attempt in range(8):
        rgb[...] = base
        mask[...] = 0
        side = int(rng.integers(4))
        inward = (0.0, 90.0, 180.0, 270.0)[side]  # from left, top, right, bottom edge
        along = rng.uniform(0.1, 0.9) * size
        out = rng.uniform(-0.1, 0.08) * size  # negative = starts outside the patch
        spread = 40.0
        if _attempt == 7:  # last try: straight at the middle, which always crosses it
            along, spread = 0.5 * size, 10.0
        start = [(out, along), (along, out), (size - 1 - out, along), (along, size - 1 - out)][side]
        direction = inward + rng.uniform(-spread, spread)
        length = rng.uniform(0.95, 1.5) * size
        draw_crack(rgb, mask, rng, start=start, direction_deg=direction, length_px=length)
        ys, xs = np.nonzero(mask)
        if len(xs) < 30 or max(xs.max() - xs.min(), ys.max() - ys.min()) + 1 < 0.6 * size:
            continue
        # It must also pass through the middle of the patch, not just hug an edge.
        lo, hi = 0.2 * size, 0.8 * size
        if np.any((xs >= lo) & (xs < hi) & (ys >= lo) & (ys < hi)):
            return
    logger.debug("patch crack kept after retries")


def make_patch(
    size: int = 227, crack: bool = True, kind: str = "concrete", seed: int = 0
) -> Tuple[np.ndarray, np.ndarray]:
    """One square patch: (rgb (size, size, 3) uint8, mask (size, size) uint8, all 0 without a crack)."""
    size = check_size("size", size)
    kind = check_kind(kind)
    rng = np.random.default_rng(seed)
    ppm = rng.uniform(*PATCH_PX_PER_MM[kind])
    rgb = texture_at_scale(size, size, kind, rng, ppm)
    add_patch_distractors(rgb, rng, kind, ppm)
    mask = np.zeros((size, size), np.uint8)
    if crack:
        _patch_crack(rgb, mask, rng)
    return rgb, mask


def _patch_plan(n: int, seed: int, crack_fraction: float, kinds: Sequence[str]):
    """Per-patch (seed, label, kind), fixed by `seed`, so make_patches and the folder writers agree."""
    n = check_count("n", n)
    if not (0.0 <= crack_fraction <= 1.0):
        raise ValueError(f"crack_fraction must be in [0, 1], got {crack_fraction!r}")
    kinds = check_kinds(kinds)
    rng = np.random.default_rng(seed)
    n_pos = int(round(n * crack_fraction))
    labels = np.zeros(n, np.int64)
    labels[:n_pos] = 1
    rng.shuffle(labels)
    kind_idx = np.arange(n) % len(kinds)
    rng.shuffle(kind_idx)
    seeds = rng.integers(0, 2**62, size=n)
    return [(int(seeds[i]), int(labels[i]), kinds[int(kind_idx[i])]) for i in range(n)]


def _iter_patches(n, size, seed, crack_fraction, kinds) -> Iterator[Tuple[int, np.ndarray, np.ndarray, int]]:
    for i, (s, label, kind) in enumerate(_patch_plan(n, seed, crack_fraction, kinds)):
        rgb, mask = make_patch(size, bool(label), kind, s)
        yield i, rgb, mask, label


def make_patches(n: int, size: int = 227, seed: int = 0, crack_fraction: float = 0.5,
                 kinds=("concrete", "masonry")) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n patches: images (n, size, size, 3) uint8, masks (n, size, size) uint8, labels (n,) int64.

    Exactly round(n * crack_fraction) have a crack (label 1); kinds are split evenly.
    """
    size = check_size("size", size)
    n = check_count("n", n)
    images = np.zeros((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    labels = np.zeros(n, np.int64)
    for i, rgb, mask, label in _iter_patches(n, size, seed, crack_fraction, kinds):
        images[i], masks[i], labels[i] = rgb, mask, label
    return images, masks, labels


def imwrite(path: Path, img: np.ndarray) -> None:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"could not write {path}")


def save_classification_folder(out_dir, n: int, size: int = 227, seed: int = 0, kinds=("concrete", "masonry")) -> dict:
    """Write n patches, half with cracks, as out_dir/Positive/*.png and out_dir/Negative/*.png."""
    size = check_size("size", size)
    plan = _patch_plan(n, seed, 0.5, kinds)  # validates before anything is written
    out = Path(out_dir)
    counts = {"Positive": 0, "Negative": 0}
    for name in counts:
        (out / name).mkdir(parents=True, exist_ok=True)
    for i, (s, label, kind) in enumerate(plan):
        rgb, _ = make_patch(size, bool(label), kind, s)
        cls = "Positive" if label else "Negative"
        imwrite(out / cls / f"syn_{seed}_{i:06d}_{kind}.png", rgb)
        counts[cls] += 1
    return counts


# Segmentation sets are mostly cracks; a few empty masks teach the model to predict nothing.
_SEG_CRACK_FRACTION = 0.85


def save_segmentation_folder(out_dir, n: int, size: int = 227, seed: int = 0, kinds=("concrete", "masonry")) -> int:
    """Write n patches as out_dir/images/NAME.png and out_dir/masks/NAME.png (single channel, 255 = crack)."""
    size = check_size("size", size)
    plan = _patch_plan(n, seed, _SEG_CRACK_FRACTION, kinds)
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for i, (s, label, kind) in enumerate(plan):
        rgb, mask = make_patch(size, bool(label), kind, s)
        name = f"syn_{seed}_{i:06d}_{kind}.png"
        imwrite(out / "images" / name, rgb)
        imwrite(out / "masks" / name, mask)
    return len(plan)


