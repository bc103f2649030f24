"""One frame through the models: tiles -> classifier -> segmenter on crack tiles -> frame mask -> cracks.

Without a segmenter the cracks are groups of crack tiles, as before; with one, every connected
component of the stitched frame mask is a crack, measured in mm when the frame has a scale.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from edge.frame.components import components
from edge.frame.tile_groups import group_crack_tiles
from edge.frame.measure import FAINT, SURE, measure_component, own_levels
from edge.frame.tiler import TileGrid
from edge.types import Crack, Frame, Patch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameResult:
    probs: np.ndarray  # (N,) crack probability per tile
    patches: List[Patch]
    grid: tuple
    cracks: List[Crack]  # in frame pixels; the caller places them on the wall
    segmented_tiles: int
    frame_hw: Optional[Tuple[int, int]] = None  # set when segmented
    box: Optional[Tuple[int, int, int, int]] = None  # (x0, y0, x1, y1) of the segmented tiles in the frame
    box_mask: Optional[np.ndarray] = (
        None  # crack mask inside `box`: bool, or levels with faint pixels (edge/frame/measure.py)
    )

    @property
    def mask(self) -> Optional[np.ndarray]:
        """(H, W) bool frame mask when segmented; made on demand, since the robot loop needs only the box."""
        if self.frame_hw is None:
            return None
        out = np.zeros(self.frame_hw, bool)
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            out[y0:y1, x0:x1] = self.box_mask
        return out


def stitch(prob_tiles: np.ndarray, patches: Sequence[Patch], frame_hw) -> np.ndarray:
    """Mean probability over the segmented tiles covering each pixel (0 where none does)."""
    out = np.zeros(frame_hw, np.float32)
    box, probs = stitch_box(prob_tiles, patches, frame_hw)
    if box is not None:
        x0, y0, x1, y1 = box
        out[y0:y1, x0:x1] = probs
    return out


def stitch_box(prob_tiles: np.ndarray, patches: Sequence[Patch], frame_hw):
    """((x0, y0, x1, y1), mean probabilities inside that box): the box spans the segmented tiles
    only, clipped to the frame, so a frame with a few crack tiles costs a few tiles' work."""
    if len(patches) == 0:
        return None, None
    h, w = frame_hw
    size = prob_tiles.shape[1]
    x0, y0 = min(p.x for p in patches), min(p.y for p in patches)
    x1, y1 = max(p.x for p in patches) + size, max(p.y for p in patches) + size
    total = np.zeros((y1 - y0, x1 - x0), np.float32)
    count = np.zeros((y1 - y0, x1 - x0), np.uint8 if len(patches) < 256 else np.uint16)  # tiles over a pixel
    for prob, p in zip(prob_tiles, patches):
        total[p.y - y0 : p.y - y0 + size, p.x - x0 : p.x - x0 + size] += prob
        count[p.y - y0 : p.y - y0 + size, p.x - x0 : p.x - x0 + size] += 1
    np.divide(total, count, out=total, where=count > 0)
    x1, y1 = min(x1, w), min(y1, h)  # the padded border is not part of the frame
    return (x0, y0, x1, y1), total[: y1 - y0, : x1 - x0]


def crack_levels(probs: np.ndarray, threshold: float, faint_threshold: Optional[float]) -> np.ndarray:
    """The crack mask of a probability map: bool `probs >= threshold`, or with a faint threshold below
    it (hysteresis, as in Canny's edges) uint8 levels: SURE at or above `threshold`, FAINT where a
    pixel at or above `faint_threshold` is 8-connected to a sure one. A crack's hairline tip fades
    below the threshold before the crack ends; a faint speck on its own stays out."""
    sure = probs >= threshold
    if faint_threshold is None or faint_threshold >= threshold or not sure.any():
        return sure
    count, labels = cv2.connectedComponents((probs >= faint_threshold).astype(np.uint8), connectivity=8)
    level_of = np.zeros(count, np.uint8)  # per component: FAINT where it holds a sure pixel (never label 0:
    level_of[labels[sure]] = FAINT          # a sure pixel is above the faint threshold too)
    levels = level_of[labels]
    levels[sure] = SURE
    return levels


def elongation(component: np.ndarray) -> float:
    """Area over the square of the widest width: about length / width for a crack, under 1 for a
    round blob (a pore, a spot of dirt), which a segmenter may mark but which is no crack."""
    padded = np.pad(component, 1).astype(bool).astype(np.uint8)
    widest = 2.0 * float(cv2.distanceTransform(padded, cv2.DIST_L2, 3).max()) - 1.0
    return float(np.count_nonzero(component)) / max(widest, 1.0) ** 2


SPOT_RIM_MM = 30.0  # a component this small whose convex hull is a blob is the rim of a spot, not a crack


def is_spot_rim(component: np.ndarray, mm_per_px: Optional[float], min_elongation: float) -> bool:
    """A small ring or arc (the segmenter outlines a dark spot's edge): elongated as drawn, but its
    convex hull is round. Larger components are left alone: a long crack that curves or branches
    has a round hull too."""
    if mm_per_px is None or max(component.shape) * mm_per_px > SPOT_RIM_MM:
        return False
    pts = cv2.findNonZero(component.astype(np.uint8))
    hull = np.zeros(component.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
    return elongation(hull) < min_elongation


def _box_gap(a: Tuple[int, int, int, int], b: Tuple[int, int, int, int]) -> float:
    """Distance between two boxes (x0, y0, x1, y1); 0 when they overlap. No two pixels of the boxes are closer."""
    dx = max(a[0] - b[2], b[0] - a[2], 0)
    dy = max(a[1] - b[3], b[1] - a[3], 0)
    return math.hypot(dx, dy)


def _pieces_within(labels: np.ndarray, a, b, gap_px: float) -> bool:
    """Whether some pixel of piece `a` lies within gap_px of a pixel of piece `b` ((label, box) each): the
    distance to `a` measured over the union of the two boxes only."""
    x0, y0 = min(a[1][0], b[1][0]), min(a[1][1], b[1][1])
    x1, y1 = max(a[1][2], b[1][2]), max(a[1][3], b[1][3])
    crop = labels[y0:y1, x0:x1]
    distance = cv2.distanceTransform((crop != a[0]).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return bool(distance[crop == b[0]].min() <= gap_px)


def join_pieces(labels: np.ndarray, pieces: Sequence[Tuple[int, Tuple[int, int, int, int]]],
                gap_px: float) -> List[List[int]]:
    """Groups of pieces (indices into `pieces`: (label, (x0, y0, x1, y1)) in `labels`) that are one
    crack: each piece within gap_px of another of its group. Only pairs whose boxes are that close are
    measured, each over the two boxes alone: a frame's few pieces cost a few distance transforms."""
    group = list(range(len(pieces)))  # union-find: each piece's representative

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    if gap_px > 0:
        for i in range(len(pieces)):
            for j in range(i + 1, len(pieces)):
                if root(i) != root(j) and _box_gap(pieces[i][1], pieces[j][1]) <= gap_px \
                        and _pieces_within(labels, pieces[i], pieces[j], gap_px):
                    group[root(j)] = root(i)
    groups: dict = {}
    for i in range(len(pieces)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def cracks_from_mask(mask: np.ndarray, probs: np.ndarray, patches: Sequence[Patch], threshold: float,
                     mm_per_px: Optional[float], min_area_px: int, measure: bool = True,
                     min_elongation: float = 0.0, origin: Tuple[int, int] = (0, 0),
                     join_gap_px: float = 0.0, width_window_px: int = 1) -> List[Crack]:
    """Each connected component of `mask` a Crack carrying its own pixels; confidence from the tiles
    it touches. `mask` may be a part of the frame whose top-left corner is `origin` (the box of the
    segmented tiles: nothing outside it needs labelling). measure=False leaves the figures to the
    tracker (which measures on the wall); components less elongated than min_elongation are blobs,
    not cracks, and are dropped. join_gap_px > 0: components that close together are pieces of one
    crack (a segmenter's gaps along it), measured together as one Crack: lengths add, the box is
    their union."""
    count, labels, stats = components(mask)
    kept = []  # (label, box in `mask`) of the components that are cracks
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < min_area_px:
            continue
        own = own_levels(labels, label, mask, (x, y, w, h))
        if min_elongation > 0 and (elongation(own) < min_elongation or is_spot_rim(own, mm_per_px, min_elongation)):
            continue
        kept.append((label, (x, y, x + w, y + h)))
    cracks = []
    for group in join_pieces(labels, kept, join_gap_px):
        x0 = min(kept[i][1][0] for i in group)
        y0 = min(kept[i][1][1] for i in group)
        x1 = max(kept[i][1][2] for i in group)
        y1 = max(kept[i][1][3] for i in group)
        ids = [kept[i][0] for i in group]
        own = (labels[y0:y1, x0:x1] == ids[0]) if len(ids) == 1 else np.isin(labels[y0:y1, x0:x1], ids)
        if mask.dtype != bool:
            own = np.where(own, mask[y0:y1, x0:x1], 0).astype(mask.dtype)
        x, y, x1, y1 = x0 + origin[0], y0 + origin[1], x1 + origin[0], y1 + origin[1]
        touching = [probs[i] for i, p in enumerate(patches)
                    if p.x < x1 and p.x + p.size > x and p.y < y1 and p.y + p.size > y]
        m = measure_component(own, 1.0, offset=(x, y), width_window_px=width_window_px) if measure else None
        scale = mm_per_px if m is not None else None
        cracks.append(Crack(
            bbox_px=(x, y, x1, y1),
            confidence=float(max(touching)) if touching else 0.0,
            tiles=int(sum(1 for v in touching if v >= threshold)),
            length_mm=round(m.length_mm * scale, 2) if scale else None,
            width_max_mm=round(m.width_max_mm * scale, 3) if scale else None,
            width_mean_mm=round(m.width_mean_mm * scale, 3) if scale else None,
            width_p95_mm=round(m.width_p95_mm * scale, 3) if scale else None,
            orientation_deg=round(m.orientation_deg, 1) if m is not None else None,
            below_resolution=m.below_resolution if m is not None else None,
            mask=own,
        ))
    return cracks


# (frame, its chosen (N, T, T, 3) tiles, their Patches) -> (N, T, T) crack probabilities
SegmentFn = Callable[[Frame, np.ndarray, Sequence[Patch]], np.ndarray]

SEGMENT_MODES = ("crack_tiles", "crack_tiles_and_neighbours", "follow", "all")
EDGE_PX = 3  # a mask this close to a tile's edge runs on into the neighbour


def exits(mask: np.ndarray, overlap: int = 0) -> List[Tuple[int, int]]:
    """(row, col) steps to the neighbouring tiles a tile's mask runs into: it has pixels within
    EDGE_PX of that edge (of both edges at a corner). With overlapping tiles the shared band is
    part of the neighbour already, so the mask must reach into the band."""
    e = EDGE_PX + max(0, overlap)
    top, bottom = mask[:e].any(), mask[-e:].any()
    left, right = mask[:, :e].any(), mask[:, -e:].any()
    steps = [(dr, dc) for dr, dc, hit in ((-1, 0, top), (1, 0, bottom), (0, -1, left), (0, 1, right)) if hit]
    corners = {(-1, -1): mask[:e, :e], (-1, 1): mask[:e, -e:], (1, -1): mask[-e:, :e], (1, 1): mask[-e:, -e:]}
    return steps + [step for step, patch in corners.items() if patch.any()]


class FrameAnalyzer:
    """analyze(frame, threshold): the cascade for one frame.

    segment_fn: (frame, its chosen (N, T, T, 3) tiles, their Patches) -> (N, T, T) crack probabilities,
    or None for tile-level cracks. A model looks at the tiles only; a check may look up the truth by
    where the tiles lie (the simulator's oracle, edge/sim/oracle.py).
    segment: which tiles the segmenter sees: "crack_tiles", "crack_tiles_and_neighbours", "follow" (the
    crack tiles, then every neighbour a segmented mask runs into, until the cracks end) or "all".
    """

    def __init__(self, classify_fn: Callable[[np.ndarray], np.ndarray], tile_size: int, stride: int,
                 segment_fn: Optional[SegmentFn] = None, pixel_threshold: float = 0.5,
                 segment: str = "crack_tiles", min_area_px: int = 20,
                 min_elongation: float = 0.0, faint_threshold: Optional[float] = None, join_gap_mm: float = 0.0,
                 width_window_px: int = 1):
        self.classify_fn = classify_fn
        self.segment_fn = segment_fn
        self.tile_size = tile_size
        self.stride = stride
        self.pixel_threshold = pixel_threshold
        self.faint_threshold = faint_threshold  # hysteresis below pixel_threshold (crack_levels); None: off
        if segment not in SEGMENT_MODES:
            raise ValueError(f"segment must be one of {', '.join(SEGMENT_MODES)}, got {segment!r}")
        self.segment = segment
        self.min_area_px = min_area_px
        self.min_elongation = min_elongation
        self.width_window_px = width_window_px
        self.join_gap_mm = (
            join_gap_mm  # pieces of a frame without a pose this close are one crack (mm, px without scale)
        )

    def _chosen(self, probs: np.ndarray, grid, threshold: float) -> np.ndarray:
        """Tiles to segment: all, the crack tiles, or the crack tiles and their 8 neighbours (a crack's
        faint end often lies in a tile the classifier let pass)."""
        if self.segment == "all":
            return np.arange(len(probs))
        hot = (probs >= threshold).reshape(grid).astype(np.uint8)
        if self.segment == "crack_tiles_and_neighbours":
            hot = cv2.dilate(hot, np.ones((3, 3), np.uint8))
        return np.flatnonzero(hot.ravel())

    def _follow(self, segment_some: Callable[[List[int]], np.ndarray], grid, start: np.ndarray, level: float):
        """Segment the crack tiles, then each neighbour that a segmented mask (probabilities >= level)
        reaches at the shared edge or corner, and so on: a crack is followed into tiles the classifier let
        pass (its faint end) without segmenting every neighbour of every crack tile. segment_some: tile
        indices -> probabilities."""
        rows, cols = grid
        probs = {}  # tile index -> its segmented probabilities
        todo = [int(i) for i in start]
        queued = set(todo)
        while todo:
            nxt = []
            for i, prob in zip(todo, segment_some(todo)):
                probs[i] = prob
                r, c = divmod(i, cols)
                for dr, dc in exits(prob >= level, self.tile_size - self.stride):
                    j = (r + dr) * cols + (c + dc)
                    if 0 <= r + dr < rows and 0 <= c + dc < cols and j not in queued:
                        queued.add(j)
                        nxt.append(j)
            todo = nxt
        order = sorted(probs)
        return np.array(order, np.int64), np.stack([probs[i] for i in order])

    def tiles(self, frame: Frame):
        """(TileGrid: the tiles as views of the frame, their patches, (rows, cols))."""
        grid = TileGrid(frame.rgb, self.tile_size, self.stride)
        return grid, grid.patches, (grid.rows, grid.cols)

    def analyze(self, frame: Frame, threshold: float, timer=None) -> FrameResult:
        t0 = time.perf_counter()
        tiles, patches, grid = self.tiles(frame)
        t1 = time.perf_counter()
        probs = self.classify_fn(tiles)
        t2 = time.perf_counter()
        if timer is not None:
            timer.add("tile", t1 - t0)
            timer.add("classify", t2 - t1)
        hw = frame.rgb.shape[:2]
        if self.segment_fn is None:
            return FrameResult(probs, patches, grid, group_crack_tiles(probs, patches, grid, threshold, hw), 0)
        chosen = self._chosen(probs, grid, threshold)
        if len(chosen) == 0:
            return FrameResult(probs, patches, grid, [], 0, hw)
        def segment_some(idx):
            return self.segment_fn(frame, tiles[idx], [patches[i] for i in idx])

        level, faint = self.pixel_threshold, self.faint_threshold
        if self.segment == "follow":
            chosen, prob_tiles = self._follow(segment_some, grid, chosen, level)
        else:
            prob_tiles = segment_some(chosen)
        t3 = time.perf_counter()
        box, inside = stitch_box(prob_tiles, [patches[i] for i in chosen], hw)
        del prob_tiles  # each step's arrays go before the next one's come: they are frame-sized at worst
        box_mask = crack_levels(inside, level, faint)
        del inside
        # With a pose the tracker measures each crack whole on the wall; measuring the frame's partial
        # view as well would only cost time. Without one, the frame is the whole scene: its pieces that
        # are one crack are joined and measured here.
        gap = 0.0 if frame.pose is not None else self.join_gap_mm / (frame.scale or 1.0)
        cracks = cracks_from_mask(box_mask, probs, patches, threshold, frame.scale, self.min_area_px,
                                  measure=frame.pose is None, min_elongation=self.min_elongation, origin=box[:2],
                                  join_gap_px=gap, width_window_px=self.width_window_px)
        if timer is not None:
            timer.add("segment", t3 - t2)
            timer.add("measure", time.perf_counter() - t3)
        return FrameResult(probs, patches, grid, cracks, len(chosen), hw, box, box_mask)

