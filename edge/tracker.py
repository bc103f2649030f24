"""One identity per physical crack across overlapping frames, and its new/update/end lifecycle.

Cracks are matched by position on the wall (mm) when frames have a pose, else in frame pixels.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .types import Crack

Box = Tuple[float, float, float, float]


def _expand(box: Box, margin: float) -> Box:
    return box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


@dataclass
class Track:
    crack_id: str
    box: Box  # extent seen so far, wall mm (or frame px without pose)
    confidence: float
    last: Crack  # the latest detection
    last_frame: int
    frame_hw: Tuple[int, int]
    ts: float
    seq: int = 0
    reported_box: Box = field(default=(0.0, 0.0, 0.0, 0.0))
    reported_confidence: float = 0.0


@dataclass(frozen=True)
class TrackEvent:
    type: str  # new | update | end
    track: Track
    seq: int


class Tracker:
    def __init__(self, merge_distance: float, end_after_frames: int, update_min: float, id_prefix: str):
        self.merge_distance = merge_distance
        self.end_after_frames = end_after_frames
        self.update_min = update_min
        self.id_prefix = id_prefix
        self.open: List[Track] = []
        # Ended cracks stay matchable: a lawnmower path comes back to a crack on its next row,
        # and that must be the same crack_id (it is reopened with an `update`).
        self.ended: List[Track] = []
        self.max_ended = 10000
        self.total = 0
        self._ids = itertools.count(1)

    @staticmethod
    def _box_of(crack: Crack) -> Box:
        return crack.bbox_mm if crack.bbox_mm is not None else tuple(float(v) for v in crack.bbox_px)

    def _match(self, box: Box) -> Optional[Track]:
        best, best_overlap = None, 0.0
        for track in self.open + self.ended:
            overlap = _overlap(_expand(track.box, self.merge_distance), box)
            if overlap > best_overlap:
                best, best_overlap = track, overlap
        return best

    def _event(self, kind: str, track: Track) -> TrackEvent:
        event = TrackEvent(kind, track, track.seq)
        track.seq += 1
        track.reported_box, track.reported_confidence = track.box, track.confidence
        return event

    def update(self, cracks: List[Crack], frame_index: int, frame_hw: Tuple[int, int], ts: float) -> List[TrackEvent]:
        events = []
        for crack in cracks:
            box = self._box_of(crack)
            track = self._match(box)
            if track is None:
                self.total += 1
                track = Track(crack_id=f"{self.id_prefix}-{next(self._ids):04d}", box=box, confidence=crack.confidence,
                              last=crack, last_frame=frame_index, frame_hw=frame_hw, ts=ts)
                self.open.append(track)
                events.append(self._event("new", track))
                continue
            if track in self.ended:
                self.ended.remove(track)
                self.open.append(track)
                track.reported_box = (0.0, 0.0, 0.0, 0.0)  # force an `update`: the crack is back in view
            track.box = _union(track.box, box)
            track.confidence = max(track.confidence, crack.confidence)
            track.last, track.last_frame, track.frame_hw, track.ts = crack, frame_index, frame_hw, ts
            grown = max(abs(a - b) for a, b in zip(track.box, track.reported_box))
            if grown >= self.update_min or track.confidence >= track.reported_confidence + 0.1:
                events.append(self._event("update", track))
        for track in [t for t in self.open if frame_index - t.last_frame >= self.end_after_frames]:
            self._close(track)
            events.append(self._event("end", track))
        return events

    def _close(self, track: Track) -> None:
        self.open.remove(track)
        self.ended.append(track)
        del self.ended[: -self.max_ended]

    def finish(self) -> List[TrackEvent]:
        """End every open crack: the scan is over."""
        events = [self._event("end", t) for t in self.open]
        for track in list(self.open):
            self._close(track)
        return events
