"""One identity per physical crack across overlapping frames, and its new/update/end lifecycle.

Cracks are matched by position on the wall (mm), so frames need a pose; a crack in a frame
without one is a scene of its own (a photo), announced and ended at once.
With a segmenter, each crack's mask is stitched on the wall (edge/wall/mask.py) and measured
there, so a crack cut by frame edges is measured whole. k-of-n voting keeps flicker out: a crack
is announced (`new`) only once it was detected in k of the first n frames after it appeared.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from edge.frame.measure import Measurement
from edge.frame.severity import classify_width
from edge.types import Crack, Pose
from edge.wall.mask import WallMask

Box = Tuple[float, float, float, float]
REMEASURE_GROWTH = 0.05  # re-measure a stitched crack when its mask grew by this fraction
MAX_ENDED_WITH_MASK = 200  # ended cracks keep their stitched mask while recent; older ones keep their box only


def _expand(box: Box, margin: float) -> Box:
    return box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


@dataclass(frozen=True)
class CrackMeasure:
    """A crack's measurement in mm, from its stitched wall mask (or from one frame without a pose)."""

    length_mm: float
    width_max_mm: float
    width_mean_mm: float
    width_p95_mm: float
    orientation_deg: float
    below_resolution: bool

    @staticmethod
    def combine(parts: List[Measurement]) -> Optional["CrackMeasure"]:
        """Parts of one crack (views with gaps between them): lengths add, widths weighted by length."""
        if not parts:
            return None
        total = sum(p.length_mm for p in parts)
        main = max(parts, key=lambda p: p.length_mm)
        weight = total if total > 0 else 1.0
        return CrackMeasure(
            length_mm=round(total, 2),
            width_max_mm=round(max(p.width_max_mm for p in parts), 3),
            width_mean_mm=round(sum(p.width_mean_mm * p.length_mm for p in parts) / weight, 3),
            width_p95_mm=round(max(p.width_p95_mm for p in parts), 3),
            orientation_deg=round(main.orientation_deg, 1),
            below_resolution=all(p.below_resolution for p in parts),
        )

    @staticmethod
    def of_crack(crack: Crack) -> Optional["CrackMeasure"]:
        if crack.length_mm is None:
            return None
        return CrackMeasure(crack.length_mm, crack.width_max_mm, crack.width_mean_mm, crack.width_p95_mm,
                            crack.orientation_deg, bool(crack.below_resolution))


@dataclass(eq=False)  # a track is itself: `in` and remove() on the track lists go by identity
class Track:
    crack_id: str
    box: Box  # extent seen so far, wall mm (or frame px without pose)
    confidence: float
    last: Crack  # the latest detection
    last_frame: int
    frame_hw: Tuple[int, int]
    ts: float
    seq: int = 0
    first_frame: int = 0
    hits: int = 1
    confirmed: bool = False
    wall: Optional[WallMask] = None
    measure: Optional[CrackMeasure] = None
    measured_area: int = 0  # stitched mask pixels plus agreed sure ones (WallMask.sure_area) when last measured
    reported_box: Box = field(default=(0.0, 0.0, 0.0, 0.0))
    reported_confidence: float = 0.0
    reported_measure: Optional[CrackMeasure] = None
    trace_cache: Optional[tuple] = None  # (mask area, wall trace) of the last event (edge/comms/events.py)
    frame_trace_cache: Optional[tuple] = None  # (crack, its frame trace): a crack's `new` and `end` in one frame


@dataclass(frozen=True)
class TrackEvent:
    type: str  # new | update | end
    track: Track
    seq: int
    merged_into: Optional[str] = None  # on `end`: this crack turned out to be part of that one


class Tracker:
    def __init__(
        self,
        merge_distance: float,
        end_after_frames: int,
        update_min: float,
        id_prefix: str,
        votes_k: int = 1,
        votes_n: int = 1,
        width_update_mm: float = 0.2,
        severity_scale: str = "BRE-Digest-251",
        min_area_px: int = 20,
        min_length_mm: float = 0.0,
        width_window_px: int = 1,
    ):
        if not 1 <= votes_k <= votes_n:
            raise ValueError(f"k-of-n voting needs 1 <= k <= n, got k={votes_k}, n={votes_n}")
        self.merge_distance = merge_distance
        self.end_after_frames = end_after_frames
        self.update_min = update_min
        self.id_prefix = id_prefix
        self.votes_k, self.votes_n = votes_k, votes_n
        self.width_update_mm = width_update_mm
        self.severity_scale = severity_scale
        self.min_area_px = min_area_px
        self.width_window_px = width_window_px
        self.min_length_mm = min_length_mm
        self.open: List[Track] = []
        self.tentative: List[Track] = []  # seen, not yet voted in
        # Ended cracks stay matchable: a lawnmower path comes back to a crack on its next row,
        # and that must be the same crack_id (it is reopened with an `update`).
        self.ended: List[Track] = []
        self.max_ended = 10000
        self.total = 0
        self.rejected = 0  # tentative cracks that lost the vote (flicker)
        self._ids = itertools.count(1)

    @staticmethod
    def _box_of(crack: Crack) -> Box:
        return crack.bbox_mm if crack.bbox_mm is not None else tuple(float(v) for v in crack.bbox_px)

    def _candidates(self, box: Box, crack: Crack, pose: Optional[Pose], frame_hw) -> List[Tuple[tuple, Track]]:
        """The tracks this detection may belong to, best first. Boxes near each other are candidates;
        where both have masks on the wall, the distance between the masks decides: a long diagonal
        crack's box covers much wall the crack is nowhere near."""
        found = []
        for track in self.open + self.tentative + self.ended:
            overlap = _overlap(_expand(track.box, self.merge_distance), box)
            if overlap <= 0:
                continue
            if track.wall is not None and crack.mask is not None and pose is not None:
                gap = track.wall.distance_mm(crack.mask, crack.bbox_px, pose, frame_hw)
                if gap > self.merge_distance:
                    continue
                key = (1, -gap)  # a mask distance beats a box overlap; the nearest mask wins
            else:
                key = (0, overlap)
            found.append((key, track))
        found.sort(key=lambda kt: kt[0], reverse=True)  # stable: equal keys keep their order
        return found

    def _join(self, found: List[Tuple[tuple, Track]]) -> Tuple[Track, List[TrackEvent]]:
        """The track a detection goes to. When its mask reaches the masks of several tracks, they were
        parts of one crack seen apart (a lawnmower path meets a crack's pieces on different rows): the
        oldest announced one takes the others' masks, and each announced one that goes ends with
        `merged_into`. Tracks that only share a box are not joined."""
        # mask matches sort first, so when there are two or more the best one is among them
        joined = [track for key, track in found if key[0] == 1]
        if len(joined) < 2:
            return found[0][1], []
        keeper = min(joined, key=lambda t: (not t.confirmed, t.first_frame, t.crack_id))
        events = []
        for track in joined:
            if track is keeper:
                continue
            keeper.wall.merge(track.wall)
            keeper.box = _union(keeper.box, track.box)
            keeper.confidence = max(keeper.confidence, track.confidence)
            keeper.hits = max(keeper.hits, track.hits)
            keeper.first_frame = min(keeper.first_frame, track.first_frame)
            for group in (self.open, self.tentative, self.ended):
                if track in group:
                    group.remove(track)
            if track.confirmed:
                events.append(self._event("end", track, merged_into=keeper.crack_id))
        self._remeasure(keeper, 0.0)
        return keeper, events

    def _event(self, kind: str, track: Track, merged_into: Optional[str] = None) -> TrackEvent:
        event = TrackEvent(kind, track, track.seq, merged_into)
        track.seq += 1
        track.reported_box, track.reported_confidence = track.box, track.confidence
        track.reported_measure = track.measure
        return event

    def _absorb(self, track: Track, crack: Crack, pose: Optional[Pose], frame_hw, frame_cracks=(),
                frame_index=None) -> None:
        """Add one detection to a track: stitch its mask on the wall and measure the whole crack again.
        frame_cracks: every crack of its frame (their pixels are not this view's vote against a pixel)."""
        if crack.mask is not None and pose is not None:
            if track.wall is None:
                track.wall = WallMask(pose.mm_per_px)
            others = [(c.mask, c.bbox_px) for c in frame_cracks if c is not crack and c.mask is not None]
            track.wall.paste(crack.mask, crack.bbox_px, pose, frame_hw, others, view=frame_index)
            self._remeasure(track, REMEASURE_GROWTH)
            tight = track.wall.bbox_mm()
            if tight is not None:
                track.box = tight  # the stitched mask's extent, not the union of loose per-frame boxes
        else:
            own = CrackMeasure.of_crack(crack)
            if own is not None and (track.measure is None or own.length_mm >= track.measure.length_mm):
                track.measure = own  # without a pose the most complete single view stands for the crack

    def _remeasure(self, track: Track, growth: float) -> None:
        """Measure the stitched mask again once it grew by `growth` (a fraction of its area): overlapping
        views mostly repeat what is known, and measuring a large mask every frame costs more than the frame."""
        area = track.wall.area() + track.wall.sure_area() if track.wall is not None else 0
        if track.measure is None or abs(area - track.measured_area) > growth * max(track.measured_area, 1):
            track.measure = (
                CrackMeasure.combine(track.wall.measure(self.min_area_px, self.width_window_px)) or track.measure
            )
            track.measured_area = area

    def _changed(self, track: Track) -> bool:
        grown = max(abs(a - b) for a, b in zip(track.box, track.reported_box))
        if grown >= self.update_min or track.confidence >= track.reported_confidence + 0.1:
            return True
        new, old = track.measure, track.reported_measure
        if new is None:
            return False
        if old is None:
            return True
        if abs(new.length_mm - old.length_mm) >= self.update_min:
            return True
        if abs(new.width_max_mm - old.width_max_mm) >= max(self.width_update_mm, 0.1 * old.width_max_mm):
            return True
        return (classify_width(new.width_max_mm, self.severity_scale)["category"]
                != classify_width(old.width_max_mm, self.severity_scale)["category"])

    def update(self, cracks: List[Crack], frame_index: int, frame_hw: Tuple[int, int], ts: float,
               pose: Optional[Pose] = None) -> List[TrackEvent]:
        events = []
        for crack in cracks:
            if crack.bbox_mm is None:
                events += self._scene_of_its_own(crack, frame_index, frame_hw, ts)
                continue
            box = self._box_of(crack)
            found = self._candidates(box, crack, pose, frame_hw)
            if not found:
                track = Track(crack_id="", box=box, confidence=crack.confidence, last=crack, last_frame=frame_index,
                              frame_hw=frame_hw, ts=ts, first_frame=frame_index)
                self._absorb(track, crack, pose, frame_hw, cracks, frame_index)
                self.tentative.append(track)
                continue
            track, merge_events = self._join(found)
            events += merge_events
            if track in self.ended:
                self.ended.remove(track)
                self.open.append(track)
                track.reported_box = (0.0, 0.0, 0.0, 0.0)  # force an `update`: the crack is back in view
            if track.last_frame != frame_index:
                track.hits += 1
            track.box = _union(track.box, box)
            track.confidence = max(track.confidence, crack.confidence)
            track.last, track.last_frame, track.frame_hw, track.ts = crack, frame_index, frame_hw, ts
            self._absorb(track, crack, pose, frame_hw, cracks, frame_index)
            if track.confirmed and self._changed(track):
                events.append(self._event("update", track))
        for track in list(self.tentative):
            # a measured fragment shorter than min_length_mm is a speck, not a crack (yet)
            long_enough = track.measure is None or track.measure.length_mm >= self.min_length_mm
            if track.hits >= self.votes_k and long_enough:
                self.tentative.remove(track)
                self.total += 1
                track.crack_id = f"{self.id_prefix}-{next(self._ids):04d}"
                track.confirmed = True
                self.open.append(track)
                events.append(self._event("new", track))
            elif frame_index - track.first_frame + 1 >= self.votes_n:
                self.tentative.remove(track)  # lost the vote: flicker, never announced
                self.rejected += 1
        for track in [t for t in self.open if frame_index - t.last_frame >= self.end_after_frames]:
            if track.wall is not None:
                self._remeasure(track, 0.0)  # the final figures are exact
            self._close(track)
            events.append(self._event("end", track))
        return events

    def _scene_of_its_own(
        self, crack: Crack, frame_index: int, frame_hw: Tuple[int, int], ts: float
    ) -> List[TrackEvent]:
        """A crack with no place on the wall (its frame has no pose): nothing says that another frame
        shows the same crack (a folder of photos is many walls), so it is announced and ended at once,
        matched with nothing and kept for no later match. The frame's pieces of one crack come joined
        (edge/frame/cascade.py join_pieces); a vote needs repeated views of one place, so there is none."""
        track = Track(crack_id="", box=self._box_of(crack), confidence=crack.confidence, last=crack,
                      last_frame=frame_index, frame_hw=frame_hw, ts=ts, first_frame=frame_index,
                      measure=CrackMeasure.of_crack(crack))
        if track.measure is not None and track.measure.length_mm < self.min_length_mm:
            self.rejected += 1  # a speck, not a crack
            return []
        self.total += 1
        track.crack_id = f"{self.id_prefix}-{next(self._ids):04d}"
        track.confirmed = True
        return [self._event("new", track), self._event("end", track)]

    def _close(self, track: Track) -> None:
        self.open.remove(track)
        if track.wall is not None:
            track.wall.settle()  # bound memory: an ended crack's votes are applied and freed
        self.ended.append(track)
        del self.ended[: -self.max_ended]
        for old in self.ended[:-MAX_ENDED_WITH_MASK]:
            old.wall = None  # bound memory on long runs; the box still matches

    def finish(self) -> List[TrackEvent]:
        """End every open crack: the scan is over. Tentative ones that never won the vote are dropped."""
        self.rejected += len(self.tentative)
        self.tentative.clear()
        for track in self.open:
            if track.wall is not None:
                self._remeasure(track, 0.0)
        events = [self._event("end", t) for t in self.open]
        for track in list(self.open):
            self._close(track)
        return events
