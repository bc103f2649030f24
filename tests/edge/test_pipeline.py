"""The threaded pipeline with stand-in stages: a live camera's oldest waiting frames are dropped and
counted when inference lags, a file's never; events are never dropped; blurred frames are flagged and counted."""
import threading
import time

import numpy as np

from edge.frame.cascade import FrameResult
from edge.loop.pipeline import LoopSettings, Pipeline, Stages
from edge.wall.tracker import Tracker
from edge.types import Crack, Frame, Patch

rng = np.random.default_rng(0)
SHARP = (rng.random((60, 80, 3)) * 255).astype(np.uint8)
FLAT = np.full((60, 80, 3), 128, np.uint8)


class Camera:
    def __init__(self, n, live, flat_at=()):
        self.n, self.live, self.flat_at = n, live, set(flat_at)
        self.done = threading.Event()

    def frames(self):
        for i in range(self.n):
            yield Frame(rgb=FLAT if i in self.flat_at else SHARP, ts=float(i), index=i)
        self.done.set()


class Analyzer:
    """One crack per frame, each far from the last (a new crack_id every frame); may wait for the camera."""

    def __init__(self, wait_for=None, sleep_s=0.0):
        self.wait_for = wait_for
        self.sleep_s = sleep_s
        self.seen = []

    def analyze(self, frame, threshold, timer=None):
        self.seen.append(frame.index)
        if self.wait_for is not None:
            self.wait_for.wait(10)
        time.sleep(self.sleep_s)
        x = 1000 * frame.index
        crack = Crack(bbox_px=(x, 0, x + 10, 10), confidence=0.9, tiles=1)
        return FrameResult(np.array([0.9]), [Patch(0, 0, 10)], (1, 1), [crack], 0)


def _pipeline(camera, analyzer, published, **kw):
    tracker = Tracker(10, 1, 20, "t")
    handle = lambda frame, events: [{"type": e.type, "crack_id": e.track.crack_id} for e in events]  # noqa: E731
    max_frames, stop = kw.pop("max_frames", None), kw.pop("stop", None)
    stages = Stages(camera, analyzer, tracker, lambda f: f, handle, published.append, **kw)
    settings = LoopSettings(telemetry_interval_s=60, frame_queue=2, drop_when_late=camera.live, min_laplacian_var=5.0)
    return Pipeline(stages, settings, max_frames=max_frames, stop=stop), tracker


def test_live_camera_drops_frames_when_inference_lags_but_no_event():
    cam = Camera(30, live=True)
    published = []
    analyzer = Analyzer(wait_for=cam.done)
    pipe, tracker = _pipeline(cam, analyzer, published)
    counts = pipe.run()
    assert counts["frames_captured"] == 30
    assert counts["frames"] + counts["frames_dropped"] == 30 and counts["frames_dropped"] >= 27
    assert analyzer.seen[-2:] == [28, 29]  # the oldest waiting frames went: the freshest were analysed
    # every analysed frame made a crack: each got its `new` and its `end`, nothing lost
    assert tracker.total == counts["frames"]
    assert sorted(p["type"] for p in published) == ["end"] * tracker.total + ["new"] * tracker.total
    assert counts["events_published"] == len(published)


def test_files_wait_for_inference_and_blurred_frames_are_counted():
    cam = Camera(12, live=False, flat_at=(3, 7))
    published = []
    pipe, tracker = _pipeline(cam, Analyzer(), published)
    counts = pipe.run()
    assert counts.get("frames_dropped", 0) == 0 and counts["frames"] == 12
    assert counts["frames_blurred"] == 2 and tracker.total == 10  # the blurred frames were not analysed
    assert len(published) == 20


def test_capture_to_publish_latency_counts_every_event_of_a_frame():
    published = []
    pipe, tracker = _pipeline(Camera(6, live=False), Analyzer(sleep_s=0.02), published)
    assert pipe.latency_percentiles_ms() == {"p50": None, "p95": None, "events": 0}
    pipe.run()
    latency = pipe.latency_percentiles_ms()
    # 6 `new` and 6 `end`, each from its own frame: a frame without a pose is a scene of its own
    assert len(published) == 12 and latency["events"] == 12
    assert 20 <= latency["p50"] <= latency["p95"]  # each frame spent 20 ms in the analyzer before its events


def test_stop_and_max_frames_end_cleanly():
    published = []
    pipe, tracker = _pipeline(Camera(50, live=False), Analyzer(), published, max_frames=5)
    counts = pipe.run()
    assert counts["frames"] == 5 and tracker.total == 5 and len(published) == 10
    stop = threading.Event()
    stop.set()
    pipe, tracker = _pipeline(Camera(50, live=False), Analyzer(), [], stop=stop)
    assert pipe.run().get("frames", 0) == 0 and not pipe.errors


def test_a_failing_camera_is_reported_and_events_still_flush():
    class Broken(Camera):
        def frames(self):
            yield Frame(rgb=SHARP, ts=0.0, index=0)
            raise RuntimeError("usb gone")

    published = []
    pipe, tracker = _pipeline(Broken(1, live=True), Analyzer(), published)
    pipe.run()
    assert len(pipe.errors) == 1 and "usb gone" in str(pipe.errors[0])
    assert [p["type"] for p in published] == ["new", "end"]


def test_a_frames_events_are_all_published_before_what_waits_for_them():
    log = []
    stages_kw = dict(after_publish=lambda: log.append("after"))
    pipe, tracker = _pipeline(Camera(5, live=False), Analyzer(), [], **stages_kw)
    pipe.publish = lambda payload: log.append(payload["type"])
    pipe.run()
    # without a pose each frame is a scene of its own: its crack's `new` and `end`, then the work after them
    groups = " ".join(log).split("after")
    assert [g.split() for g in groups[:-1]] == [["new", "end"]] * 5
    assert groups[-1] == ""
