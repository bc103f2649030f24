"""Numpy augmentation for image/mask pairs (segmentation) and patches (classification).

Geometric changes apply to image and mask together; photometric ones (brightness, contrast,
colour, blur, noise) to the image only. Motion blur and sensor noise mimic frames from a
camera on a moving robot. `deepcrack_protocol` is the offline expansion of the DeepCrack
paper: rotations 0-90 degrees in 10 degree steps, flips, and five crops of each.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class AugmentOptions:
    """Strength of each random change; 0 turns it off."""

    flips: bool = True  # horizontal/vertical flips and transposes (all 8 right-angle orientations)
    rotate_deg: float = 0.0  # largest free rotation (reflected border), on top of the right angles
    scale: float = 0.2  # crop side = size x uniform(1 - scale, 1 + scale) before resizing to size
    brightness: float = 0.15  # largest shift, fraction of 0-255
    contrast: float = 0.25  # factor uniform(1 - c, 1 + c) around the mean
    colour: float = 0.05  # per-channel gain uniform(1 - c, 1 + c)
    blur: float = 0.3  # probability of a motion blur 3-7 px long, or a slight defocus
    noise: float = 6.0  # largest Gaussian noise sigma in grey levels
    crack_crops: float = 0.7  # probability a crop is centred near a crack pixel (when there is one)


def _resize(img: np.ndarray, size: int, interp) -> np.ndarray:
    import cv2

    if img.shape[0] == size and img.shape[1] == size:
        return img
    return cv2.resize(img, (size, size), interpolation=interp)


def random_crop(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator,
                opts: AugmentOptions) -> Tuple[np.ndarray, np.ndarray]:
    """A square crop of side ~size (scale jitter), resized to size x size; mask stays boolean,
    thresholded at half coverage so crack widths keep their scale."""
    import cv2

    h, w = image.shape[:2]
    side = int(round(size * rng.uniform(1.0 - opts.scale, 1.0 + opts.scale))) if opts.scale > 0 else size
    side = max(8, min(side, h, w))
    ys, xs = (np.nonzero(mask) if rng.random() < opts.crack_crops else ((), ()))
    if len(ys):
        k = int(rng.integers(len(ys)))
        y0 = int(np.clip(ys[k] - rng.integers(side // 4, 3 * side // 4 + 1), 0, h - side))
        x0 = int(np.clip(xs[k] - rng.integers(side // 4, 3 * side // 4 + 1), 0, w - side))
    else:
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    img = image[y0:y0 + side, x0:x0 + side]
    msk = mask[y0:y0 + side, x0:x0 + side].astype(np.float32)
    shrink = side > size
    img = _resize(img, size, cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    msk = _resize(msk, size, cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return img, msk >= 0.5


def geometric(image: np.ndarray, mask: Optional[np.ndarray], rng: np.random.Generator, opts: AugmentOptions):
    """Random right-angle orientation and an optional small free rotation, same for both."""
    import cv2

    if opts.flips:
        if rng.random() < 0.5:
            image, mask = image[:, ::-1], (mask[:, ::-1] if mask is not None else None)
        if rng.random() < 0.5:
            image, mask = image[::-1], (mask[::-1] if mask is not None else None)
        if rng.random() < 0.5 and image.shape[0] == image.shape[1]:
            image = image.transpose(1, 0, 2)
            mask = mask.T if mask is not None else None
    if opts.rotate_deg > 0:
        angle = rng.uniform(-opts.rotate_deg, opts.rotate_deg)
        h, w = image.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), angle, 1.0)
        image = cv2.warpAffine(np.ascontiguousarray(image), m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
        if mask is not None:
            mask = cv2.warpAffine(np.ascontiguousarray(mask, dtype=np.float32), m, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT_101) >= 0.5
    return np.ascontiguousarray(image), (np.ascontiguousarray(mask) if mask is not None else None)


def motion_blur_kernel(length: int, angle_deg: float) -> np.ndarray:
    """A normalised line kernel: the smear of a camera moving `length` px in direction `angle`."""
    import cv2

    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2.0
    dx, dy = np.cos(np.deg2rad(angle_deg)) * c, np.sin(np.deg2rad(angle_deg)) * c
    cv2.line(k, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1)
    return k / k.sum()


def photometric(image: np.ndarray, rng: np.random.Generator, opts: AugmentOptions) -> np.ndarray:
    """Brightness, contrast, colour gain, motion blur or defocus, sensor noise; uint8 in and out."""
    import cv2

    x = image.astype(np.float32)
    if opts.blur > 0 and rng.random() < opts.blur:
        if rng.random() < 0.7:
            length = int(rng.choice([3, 5, 7]))
            x = cv2.filter2D(x, -1, motion_blur_kernel(length, rng.uniform(0, 180)), borderType=cv2.BORDER_REFLECT)
        else:
            x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.2))
    if opts.contrast > 0:
        mean = x.mean()
        x = (x - mean) * rng.uniform(1 - opts.contrast, 1 + opts.contrast) + mean
    if opts.colour > 0:
        x = x * rng.uniform(1 - opts.colour, 1 + opts.colour, size=3).astype(np.float32)
    if opts.brightness > 0:
        x = x + rng.uniform(-opts.brightness, opts.brightness) * 255.0
    if opts.noise > 0:
        x = x + rng.normal(0.0, rng.uniform(0, opts.noise), size=x.shape).astype(np.float32)
    return np.clip(x, 0, 255).astype(np.uint8)


def augment_pair(image, mask, size: int, rng: np.random.Generator, opts: AugmentOptions):
    """One training sample from a whole image/mask pair: crop, orient, recolour."""
    img, msk = random_crop(image, mask, size, rng, opts)
    img, msk = geometric(img, msk, rng, opts)
    return photometric(img, rng, opts), msk


def deepcrack_protocol(image: np.ndarray, mask: np.ndarray, crop_fraction: float = 0.8
                       ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """The DeepCrack offline augmentation of one pair: rotated by 0, 10, ..., 90 degrees,
    each as is and flipped left-right, and each of those cut into five crops (four corners
    and the centre, `crop_fraction` of each side): 10 x 2 x 5 = 100 pairs."""
    import cv2

    h, w = image.shape[:2]
    for angle in range(0, 91, 10):
        m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), angle, 1.0)
        img = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        msk = cv2.warpAffine(mask.astype(np.uint8) * 255, m, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT_101) >= 128
        for flipped in (False, True):
            a, b = (img[:, ::-1], msk[:, ::-1]) if flipped else (img, msk)
            ch, cw = int(round(h * crop_fraction)), int(round(w * crop_fraction))
            for y0, x0 in ((0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw), ((h - ch) // 2, (w - cw) // 2)):
                yield np.ascontiguousarray(a[y0:y0 + ch, x0:x0 + cw]), np.ascontiguousarray(b[y0:y0 + ch, x0:x0 + cw])
