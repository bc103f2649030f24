"""A simulated robot: a camera moving along a lawnmower path over a synthetic wall.

Each frame is a crop of the wall image, so the true position of every crack is known; the pose is
the wall point (mm) under the frame centre.
"""
from __future__ import annotations

import logging
import time
from typing import Iterator, List, Tuple

import cv2

import edge.sim as synthetic
from edge.errors import ConfigError
from edge.types import Frame, Pose
from edge.camera.base import Camera

log = logging.getLogger(__name__)


def lawnmower_path(wall_w: int, wall_h: int, frame_w: int, frame_h: int, overlap: float) -> List[Tuple[int, int]]:
    """Top-left corners of frames covering the wall row by row, alternating direction like a robot."""

    def stops(total: int, size: int) -> List[int]:
        if size >= total:
            return [0]
        step = max(1, int(size * (1.0 - overlap)))
        positions = list(range(0, total - size + 1, step))
        if positions[-1] != total - size:
            positions.append(total - size)  # last frame flush with the edge so the wall is covered
        return positions

    xs, ys = stops(wall_w, frame_w), stops(wall_h, frame_h)
    path = []
    for row, y in enumerate(ys):
        for x in xs if row % 2 == 0 else reversed(xs):
            path.append((x, y))
    return path


class SimCamera(Camera):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        w = cfg.wall
        started = time.perf_counter()
        try:
            self.wall = synthetic.render_wall(width_px=w.width_px, height_px=w.height_px, n_cracks=w.cracks,
                                              kind=w.kind, seed=w.seed, mm_per_px=w.mm_per_px)
        except ValueError as exc:  # e.g. more cracks than fit the wall
            raise ConfigError(f"camera.wall: {exc}") from None
        log.info("rendered a %dx%d px %s wall with %d cracks in %.1f s",
                 w.width_px, w.height_px, w.kind, len(self.wall.cracks), time.perf_counter() - started)
        self.frame_w = min(cfg.width, w.width_px)
        self.frame_h = min(cfg.height, w.height_px)
        self.path = lawnmower_path(w.width_px, w.height_px, self.frame_w, self.frame_h, cfg.overlap)
        self.live = cfg.realtime  # a real-time simulator behaves like a camera: late frames are dropped

    def frames(self) -> Iterator[Frame]:
        mm = self.cfg.wall.mm_per_px
        start = time.time()
        for index, (x, y) in enumerate(self.path):
            ts = start + index / self.cfg.fps
            if self.cfg.realtime:
                time.sleep(max(0.0, ts - time.time()))
            crop = self.wall.rgb[y : y + self.frame_h, x : x + self.frame_w].copy()
            if self.cfg.blur_every and index % self.cfg.blur_every == self.cfg.blur_every - 1:
                crop = cv2.blur(crop, (25, 1))  # a jolt: motion blur along the path
            pose = Pose(x_mm=(x + self.frame_w / 2) * mm, y_mm=(y + self.frame_h / 2) * mm, mm_per_px=mm)
            yield Frame(rgb=crop, ts=ts, index=index, pose=pose, mm_per_px=mm)

    def truth_mask(self, index: int):
        """The exact crack mask (uint8, 255 = crack) of frame `index`: what the wall shows under it."""
        x, y = self.path[index]
        return self.wall.mask[y : y + self.frame_h, x : x + self.frame_w]
