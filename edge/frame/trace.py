"""A crack's shape for the wire: its centreline as a few polylines, each vertex with the full width there.

The skeleton the crack is measured on (edge/frame/measure.py skeleton_and_distance, spurs pruned) is cut
into paths between its free ends and junctions, each path is simplified by Douglas-Peucker
(cv2.approxPolyDP), and the width at a vertex is the median of the full
widths (edge/frame/measure.py local_widths, from the sure pixels) along the path within WIDTH_SPAN_PX.
The trace is bounded: the longest paths first, at most `max_lines` of them and `max_vertices` vertices in
all, the tolerance loosened until they fit, so an event never grows with the crack.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import cv2
import numpy as np

from edge.frame.measure import distance_to_edge, local_widths, skeleton_and_distance, sure_pixels

MAX_VERTICES = 64  # per trace, all polylines together: ~1.3 KB of JSON in wall mm
MAX_LINES = 16
WIDTH_SPAN_PX = 3  # a vertex's width: the median along the path this far either side of it
MIN_PATH_PX = 3  # shorter paths (the stubs between neighbouring junction pixels) are left out

Vertex = Tuple[float, float, float]  # x, y, full width (mask pixels)
_STEPS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]


def _paths(skel: np.ndarray) -> List[np.ndarray]:
    """The skeleton cut into paths ((n, 2) arrays of (y, x) pixels) between free ends and junctions; closed
    loops whole."""
    ys, xs = np.nonzero(skel)  # row-major: a pixel's number orders pixels as (y, x) tuples do
    ids = np.full((skel.shape[0] + 2, skel.shape[1] + 2), -1, np.int64)
    ids[ys + 1, xs + 1] = np.arange(len(ys))
    around = np.stack([ids[ys + 1 + dy, xs + 1 + dx] for dy, dx in _STEPS], axis=1)
    count = np.count_nonzero(around >= 0, axis=1)
    around = np.take_along_axis(around, np.argsort(around < 0, axis=1, kind="stable"), axis=1)  # skeleton first
    neighbours = [row[:n] for row, n in zip(around.tolist(), count.tolist())]  # in _STEPS order
    is_node = (count != 2).tolist()
    used = [False] * len(ys)  # pixels inside a path already walked (nodes are never used up)
    paths = []

    def walk(start: int, first: int) -> List[int]:
        path, prev, cur = [start], start, first
        on_path = {start}
        while True:
            path.append(cur)
            on_path.add(cur)
            if is_node[cur]:
                return path
            used[cur] = True
            nxt = [p for p in neighbours[cur] if p != prev and not used[p] and (p not in on_path or p == start)]
            if not nxt:
                return path
            prev, cur = cur, nxt[0]
            if cur == start:
                path.append(cur)
                return path

    for node in (i for i in range(len(ys)) if is_node[i]):
        for nb in neighbours[node]:
            if used[nb] or (is_node[nb] and nb < node):
                continue  # walked already, or a node-to-node link counted from its other end
            paths.append(walk(node, nb))
    for p in range(len(ys)):  # loops without a free end or junction
        if not used[p] and not is_node[p]:
            used[p] = True
            if neighbours[p]:
                paths.append(walk(p, neighbours[p][0]))
    yx = np.stack([ys, xs], axis=1)
    paths = [yx[path] for path in paths]
    return [path for path in paths if len(path) >= MIN_PATH_PX] or paths[:1]


class _Simplifier:
    """A path's Douglas-Peucker vertices at any tolerance: picks(epsilon) -> indices into the path (both ends
    always kept). The path's points and pixel index are made once for the loosening tolerances tried."""

    def __init__(self, path: np.ndarray):
        self.last = len(path) - 1
        self.pts = np.ascontiguousarray(path[:, ::-1], np.int32).reshape(-1, 1, 2)
        xy = list(zip(path[:, 1].tolist(), path[:, 0].tolist()))
        # (x, y) -> its first place on the path (a closed loop ends where it starts): the last write wins
        self.index: Dict[Tuple[int, int], int] = dict(zip(reversed(xy), range(self.last, -1, -1)))

    def picks(self, epsilon: float) -> List[int]:
        kept = cv2.approxPolyDP(self.pts, epsilon, closed=False).reshape(-1, 2)
        return sorted({self.index[(int(x), int(y))] for x, y in kept} | {0, self.last})


def _vertex_widths(path: np.ndarray, picks: List[int], width_img: np.ndarray) -> List[float]:
    """The median width along the path within WIDTH_SPAN_PX of each pick (the window cut at the path's ends)."""
    ys, xs = path.T
    along = np.pad(width_img[ys, xs].astype(np.float64), WIDTH_SPAN_PX, constant_values=np.nan)
    windows = np.sort(np.lib.stride_tricks.sliding_window_view(along, 2 * WIDTH_SPAN_PX + 1)[picks], axis=1)
    k = np.count_nonzero(~np.isnan(windows), axis=1)  # the sort put a cut window's NaNs last
    rows = np.arange(len(picks))
    return ((windows[rows, k // 2] + windows[rows, (k - 1) // 2]) / 2).tolist()


def trace_mask(levels: np.ndarray, max_vertices: int = MAX_VERTICES, max_lines: int = MAX_LINES,
               epsilon_px: float = 1.0) -> List[List[Vertex]]:
    """Polylines of the centreline of `levels` (bool or uint8 levels, non-zero = crack), in its pixels:
    each vertex (x, y, full width) at a pixel centre (x, y are column and row). [] for an empty mask."""
    levels = np.asarray(levels)
    rows, cols = np.flatnonzero(levels.any(axis=1)), np.flatnonzero(levels.any(axis=0))
    if len(rows) == 0 or max_vertices < 2:
        return []
    oy, ox = int(rows[0]), int(cols[0])  # the crack's own box: where its measurement thinned it too
    levels = levels[oy : rows[-1] + 1, ox : cols[-1] + 1]
    crop = levels > 0
    skel, dist = skeleton_and_distance(crop)  # the skeleton the crack was measured on
    paths = sorted(_paths(skel), key=len, reverse=True)[: min(max_lines, max_vertices // 2)]
    if not paths:  # a lone pixel: no path to trace
        return []
    epsilon = float(epsilon_px)
    simplifiers = [_Simplifier(path) for path in paths]
    while True:
        picks = [simplifier.picks(epsilon) for simplifier in simplifiers]
        if sum(len(p) for p in picks) <= max_vertices or epsilon > 4 * max(skel.shape):
            break  # (the second: every path is down to its two ends, which always fit)
        epsilon *= 1.5
    # Widths where the vertices' medians read them only: the skeleton's other pixels need none.
    near = np.concatenate([path[max(0, i - WIDTH_SPAN_PX) : i + WIDTH_SPAN_PX + 1]
                           for path, pick in zip(paths, picks) for i in pick])
    ys, xs = np.divmod(np.unique(near[:, 0] * skel.shape[1] + near[:, 1]), skel.shape[1])
    sure = sure_pixels(levels)
    width_img = np.zeros(skel.shape, np.float32)
    width_img[ys, xs] = local_widths(skel, dist if np.array_equal(sure, crop) else distance_to_edge(sure), at=(ys, xs))
    width_img[ys, xs] *= sure[ys, xs]  # a faint-only stretch has no width to report
    out = []
    for path, pick in zip(paths, picks):
        widths = _vertex_widths(path, pick, width_img)
        out.append([(float(path[i, 1] + ox), float(path[i, 0] + oy), w) for i, w in zip(pick, widths)])
    return out


def vertex_count(polylines: List[List[Vertex]]) -> int:
    return sum(len(line) for line in polylines)
