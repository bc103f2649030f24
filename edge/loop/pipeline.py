"""The threaded robot loop: capture -> inference -> publishing, joined by bounded queues.

- capture: reads the camera, attaches the pose; a live camera never waits for inference: when the
  frame queue is full its oldest frame is dropped and counted, so the freshest one is analysed (files
  and the non-realtime simulator wait instead, since nothing is lost by waiting for them);
- inference: blur check, the model cascade, placement on the wall, tracking; each frame's crack events go
  to an unbounded queue together: events are never dropped;
- publishing (the calling thread): a frame's events into the disk outbox, then the work that may wait for
  them (`after_publish`: evidence JPEGs), telemetry every interval.
`stop` (SIGTERM) ends capture; the frames already queued are analysed, open cracks get `end`,
and every event is handed to the publisher before run() returns.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np

from edge.frame.blur import sharpness
from edge.wall.localize import place_on_wall
from edge.types import Frame

log = logging.getLogger(__name__)

_END = object()  # end of a queue's stream


class StageTimer:
    """Mean milliseconds per stage since the last reset, for telemetry; thread-safe."""

    def __init__(self):
        self.total = defaultdict(float)
        self.count = defaultdict(int)
        self.run_total = defaultdict(float)  # since start, for the run summary
        self.run_count = defaultdict(int)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.total[stage] += seconds
            self.count[stage] += 1
            self.run_total[stage] += seconds
            self.run_count[stage] += 1

    def run_means_ms(self) -> dict:
        with self._lock:
            return {k: round(1000 * self.run_total[k] / self.run_count[k], 3) for k in self.run_total}

    def means_ms(self) -> dict:
        with self._lock:
            return {k: round(1000 * self.total[k] / self.count[k], 3) for k in self.total}

    def reset(self) -> None:
        with self._lock:
            self.total.clear()
            self.count.clear()


@dataclass
class Stages:
    """What the loop drives and reports to: the camera, the frame analyser and tracker, and callbacks for
    the pose, the live threshold and pause, turning track events into payloads (`handle_events(frame,
    events)`), publishing one payload, what follows a frame's payloads and sending telemetry."""

    camera: object
    analyzer: object
    tracker: object
    attach_pose: Callable[[Frame], Frame]
    handle_events: Callable
    publish: Callable[[dict], None]
    # after a frame's events are all published: what may wait for them (evidence JPEGs), off the events' path
    after_publish: Callable[[], None] = lambda: None
    telemetry: Callable[[], None] = lambda: None
    threshold_fn: Callable[[], float] = lambda: 0.5
    paused_fn: Callable[[], bool] = lambda: False


@dataclass(frozen=True)
class LoopSettings:
    telemetry_interval_s: float = 10.0
    frame_queue: int = 2
    drop_when_late: bool = False  # a live camera: drop the oldest waiting frame rather than fall behind
    min_laplacian_var: float = 0.0  # blurred frames below this are counted and skipped; 0: no check
    max_pixels: Optional[int] = None  # larger frames are skipped and counted (frames_too_large)


class Pipeline:
    """Runs the stages in three threads until the camera ends, `max_frames` frames were analysed or `stop` is set."""

    def __init__(self, stages: Stages, settings: LoopSettings, max_frames: Optional[int] = None,
                 stop: Optional[threading.Event] = None):
        self.stages = stages
        self.camera = stages.camera
        self.analyzer = stages.analyzer
        self.tracker = stages.tracker
        self.attach_pose = stages.attach_pose
        self.threshold_fn = stages.threshold_fn
        self.handle_events = stages.handle_events
        self.publish = stages.publish
        self.after_publish = stages.after_publish
        self.telemetry = stages.telemetry
        self.paused_fn = stages.paused_fn
        self.telemetry_interval_s = settings.telemetry_interval_s
        self.frames: "queue.Queue" = queue.Queue(maxsize=settings.frame_queue)
        self.events: "queue.Queue" = queue.Queue()  # a frame's payloads at a time; unbounded: never dropped
        self.drop_when_late = settings.drop_when_late
        self.min_laplacian_var = settings.min_laplacian_var
        self.max_pixels = settings.max_pixels
        self.max_frames = max_frames
        self.stop = stop or threading.Event()
        self.timer = StageTimer()
        # seconds from a frame leaving the camera to its events handed to MQTT (the latest 10000)
        self.capture_to_publish: deque = deque(maxlen=10_000)
        self.counts = defaultdict(int)
        self.errors: List[BaseException] = []
        self._capture_done = threading.Event()

    # -- capture thread
    def _put_freshest(self, item) -> None:
        """Queue a live frame; when inference lags, the oldest waiting frame goes instead, so the
        robot always analyses what it sees now rather than what it saw a queue ago."""
        while True:
            try:
                self.frames.put_nowait(item)
                return
            except queue.Full:
                try:
                    self.frames.get_nowait()
                    self.counts["frames_dropped"] += 1
                except queue.Empty:  # inference took one meanwhile: there is room now
                    pass

    def _capture(self) -> None:
        try:
            for frame in self.camera.frames():
                if self.stop.is_set():
                    break
                t0 = captured = time.perf_counter()
                frame = self.attach_pose(frame)
                self.timer.add("pose", time.perf_counter() - t0)
                self.counts["frames_captured"] += 1
                if self.drop_when_late:
                    self._put_freshest((frame, captured))
                else:
                    while not self.stop.is_set():
                        try:
                            self.frames.put((frame, captured), timeout=0.2)
                            break
                        except queue.Full:
                            continue
        except BaseException as exc:  # surfaced by run(); the other stages still shut down cleanly
            self.errors.append(exc)
            log.error("capture failed: %s", exc)
        finally:
            self._capture_done.set()
            self.frames.put(_END)

    # -- inference thread
    def _infer(self) -> None:
        try:
            while True:
                item = self.frames.get()
                if item is _END:
                    break
                if self.max_frames is not None and self.counts["frames"] >= self.max_frames:
                    self.stop.set()
                    continue  # empty the queue so capture can finish
                self._infer_one(*item)
            self._emit(None, self.tracker.finish(), None)
        except BaseException as exc:
            self.errors.append(exc)
            self.stop.set()
            log.exception("inference failed")
        finally:
            self.events.put(_END)

    def _infer_one(self, frame: Frame, captured: float) -> None:
        if self.paused_fn():
            self.counts["frames_paused"] += 1
            return
        h, w = frame.rgb.shape[:2]
        if self.max_pixels is not None and h * w > self.max_pixels:
            self.counts["frames_too_large"] += 1
            log.warning("frame %d skipped: %d x %d pixels, over pipeline.max_frame_pixels %d", frame.index, w, h,
                        self.max_pixels)
            return
        started = time.perf_counter()
        self.counts["frames"] += 1
        if self.min_laplacian_var > 0:
            sharp = sharpness(frame.rgb)
            self.timer.add("blur", time.perf_counter() - started)
            if sharp < self.min_laplacian_var:
                self.counts["frames_blurred"] += 1
                log.debug("frame %d blurred (variance of Laplacian %.1f)", frame.index, sharp)
                return
        threshold = self.threshold_fn()
        try:
            result = self.analyzer.analyze(frame, threshold, timer=self.timer)
            t0 = time.perf_counter()
            hw = frame.rgb.shape[:2]
            cracks = [place_on_wall(c, frame.pose, hw) for c in result.cracks]
            events = self.tracker.update(cracks, frame.index, hw, frame.ts, pose=frame.pose)
        except Exception as exc:  # one bad frame (out of memory, an OpenCV error) must not end the run
            self.counts["frames_failed"] += 1
            log.warning("frame %d not analysed: %s: %s", frame.index, type(exc).__name__,
                        (str(exc).strip().splitlines() or [""])[-1][:200])
            return
        self.timer.add("track", time.perf_counter() - t0)
        self.counts["tiles"] += len(result.probs)
        self.counts["crack_tiles"] += int((result.probs >= threshold).sum())
        self.counts["segmented_tiles"] += result.segmented_tiles
        self._emit(frame, events, captured)
        self.timer.add("frame", time.perf_counter() - started)

    def _emit(self, frame: Optional[Frame], events, captured: Optional[float]) -> None:
        payloads = self.handle_events(frame, events)
        if payloads:
            self.events.put((payloads, captured))

    # -- publishing (caller's thread)
    def _publish_frame(self, payloads: List[dict], captured: Optional[float]) -> None:
        """A frame's events, each timed from capture to the outbox, then what waits for them."""
        for payload in payloads:
            t0 = time.perf_counter()
            self.publish(payload)
            done = time.perf_counter()
            self.timer.add("publish", done - t0)
            if captured is not None:  # `end` events at shutdown belong to no frame
                self.capture_to_publish.append(done - captured)
            self.counts["events_published"] += 1
            self.counts[f"events_{payload['type']}"] += 1
        t0 = time.perf_counter()
        self.after_publish()
        self.timer.add("after_publish", time.perf_counter() - t0)

    def latency_percentiles_ms(self) -> dict:
        """p50 / p95 of capture-to-publish over the events of this run (null before the first one)."""
        values = list(self.capture_to_publish)
        if not values:
            return {"p50": None, "p95": None, "events": 0}
        p50, p95 = np.percentile(values, [50, 95])
        return {"p50": round(1000 * p50, 3), "p95": round(1000 * p95, 3), "events": len(values)}

    def run(self) -> dict:
        started = time.monotonic()
        capture = threading.Thread(target=self._capture, name="capture", daemon=True)
        infer = threading.Thread(target=self._infer, name="inference", daemon=True)
        capture.start()
        infer.start()
        last_telemetry = time.monotonic()
        while True:
            try:
                item = self.events.get(timeout=0.2)
            except queue.Empty:
                item = None
            if item is _END:
                break
            if item is not None:
                self._publish_frame(*item)
            now = time.monotonic()
            if now - last_telemetry >= self.telemetry_interval_s:
                self.telemetry()
                self.timer.reset()
                last_telemetry = now
        infer.join()
        self.stop.set()  # capture may still be blocked on a camera that outlives max_frames
        capture.join(timeout=5)
        self.elapsed = time.monotonic() - started
        return dict(self.counts)
