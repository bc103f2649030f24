"""Look-alike negatives cut from segmentation photos: the crack painted out, everything else kept.

The segmentation sets have no crack-free photos, yet their surfaces are exactly the look-alikes a robot
meets: mortar joints beside masonry cracks, formwork joints beside drone hairlines, grout, veins, grooves.
Painting the labelled crack out (its mask widened by a margin, OpenCV's Telea inpainting) and keeping the
rest gives the classifier those surfaces as "no crack". Only thin cracks are painted out: a wide one
leaves a smear that still reads as a crack, and a negative that shows a crack teaches the wrong thing.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

MAX_CRACK_WIDTH_PX = 10  # widest crack (twice the largest distance to the mask's edge) that is painted out
MARGIN_PX = 5  # the mask is widened this much on every side: labels are often thinner than the crack


def max_crack_width(mask: np.ndarray) -> float:
    """Twice the largest distance from a crack pixel to the background: the crack's widest point."""
    import cv2

    if not mask.any():
        return 0.0
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    return 2.0 * float(dist.max())


def paint_out(image: np.ndarray, mask: np.ndarray, margin: int = MARGIN_PX,
              max_width: float = MAX_CRACK_WIDTH_PX) -> Optional[np.ndarray]:
    """`image` (uint8 RGB) with the crack of `mask` painted out; None when there is no crack or it is too wide
    to paint out cleanly."""
    import cv2

    if not mask.any() or max_crack_width(mask) > max_width:
        return None
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    region = cv2.dilate(mask.astype(np.uint8) * 255, kernel)
    return cv2.inpaint(np.ascontiguousarray(image), region, margin, cv2.INPAINT_TELEA)
