"""The edge loop: frames -> tiles -> classifier -> cracks on the wall -> tracked events -> outbox/MQTT."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from typing import Optional

from .bundle import load_bundle
from .camera import open_camera
from .classifier import Classifier
from .config import EdgeConfig
from .detect import group_crack_tiles
from .errors import ModelError
from .events import crack_event
from .localize import place_on_wall
from .outbox import Outbox
from .publisher import Publisher
from .schemas import SCHEMA_VERSION
from .tiler import tile_frame
from .tracker import Tracker

log = logging.getLogger(__name__)


class StageTimer:
    """Mean milliseconds per stage since the last reset, for telemetry."""

    def __init__(self):
        self.total = defaultdict(float)
        self.count = defaultdict(int)

    def add(self, stage: str, seconds: float) -> None:
        self.total[stage] += seconds
        self.count[stage] += 1

    def means_ms(self) -> dict:
        return {k: round(1000 * self.total[k] / self.count[k], 3) for k in self.total}

    def reset(self) -> None:
        self.total.clear()
        self.count.clear()


def run(cfg: EdgeConfig, max_frames: Optional[int] = None, stop: Optional[threading.Event] = None) -> dict:
    """Run until the camera ends, `max_frames` frames were processed or `stop` is set; return the summary."""
    stop = stop or threading.Event()
    bundle = load_bundle(cfg.models.classifier)  # refuses a missing or mismatched model before anything starts
    classifier = Classifier(bundle, threads=cfg.models.threads)
    threshold = cfg.models.threshold if cfg.models.threshold is not None else bundle.info.threshold
    size = bundle.info.tile.size
    stride = cfg.tiling.stride or bundle.info.tile.stride
    if (size, size) != classifier.input_size:
        raise ModelError(f"{bundle.folder}: tile size {size} differs from the model input {classifier.input_size}")

    camera = open_camera(cfg.camera)
    outbox = Outbox(cfg.outbox.path)
    backlog_at_start = len(outbox)
    if backlog_at_start:
        log.info("outbox holds %d unacknowledged events from an earlier run; they go first", backlog_at_start)
    publisher = Publisher(cfg.mqtt, cfg.robot_id, outbox)
    publisher.start()
    # Crack ids carry a token of this run so a restarted robot never reuses one.
    tracker = Tracker(cfg.tracking.merge_distance_mm, cfg.tracking.end_after_frames, cfg.tracking.update_min_mm,
                      id_prefix=f"{cfg.robot_id}-{uuid.uuid4().hex[:6]}")
    timer = StageTimer()
    counts = defaultdict(int)
    started = time.monotonic()
    last_telemetry = started

    def emit(track_events):
        for ev in track_events:
            publisher.publish_event(crack_event(cfg.robot_id, ev, bundle.info.name, bundle.info.sha256))
            counts["events_published"] += 1
            counts[f"events_{ev.type}"] += 1

    try:
        with camera:
            for frame in camera.frames():
                if stop.is_set() or (max_frames is not None and counts["frames"] >= max_frames):
                    break
                t0 = time.perf_counter()
                tiles, patches, grid = tile_frame(frame.rgb, size, stride)
                t1 = time.perf_counter()
                probs = classifier.classify(tiles)
                t2 = time.perf_counter()
                hw = frame.rgb.shape[:2]
                cracks = [place_on_wall(c, frame.pose, hw) for c in group_crack_tiles(probs, patches, grid, threshold, hw)]
                emit(tracker.update(cracks, frame.index, hw, frame.ts))
                t3 = time.perf_counter()
                timer.add("tile", t1 - t0)
                timer.add("classify", t2 - t1)
                timer.add("track_publish", t3 - t2)
                counts["frames"] += 1
                counts["tiles"] += len(tiles)
                counts["crack_tiles"] += int((probs >= threshold).sum())
                now = time.monotonic()
                if now - last_telemetry >= cfg.telemetry.interval_s:
                    publisher.publish_telemetry(_telemetry(cfg.robot_id, counts, camera.skipped, timer, now - started, len(outbox)))
                    timer.reset()
                    last_telemetry = now
        emit(tracker.finish())
        drained = publisher.drain(cfg.mqtt.drain_timeout_s)
        if not drained:
            log.warning("%d events still in the outbox at exit; they are sent on the next start", len(outbox))
    finally:
        publisher.stop()
        backlog = len(outbox)
        outbox.close()
    elapsed = time.monotonic() - started
    return {
        "frames": counts["frames"],
        "frames_dropped": 0,  # the loop is synchronous: no frame is dropped for lag
        "frames_skipped": camera.skipped,
        "tiles": counts["tiles"],
        "crack_tiles": counts["crack_tiles"],
        "cracks": tracker.total,
        "events_published": counts["events_published"],
        "events_by_type": {t: counts[f"events_{t}"] for t in ("new", "update", "end")},
        "events_acked": publisher.acked,
        "outbox_backlog_at_start": backlog_at_start,
        "outbox_backlog": backlog,
        "duration_s": round(elapsed, 3),
        "fps": round(counts["frames"] / elapsed, 2) if elapsed > 0 else 0.0,
        "model": {"name": bundle.info.name, "sha256": bundle.info.sha256},
    }


def _telemetry(robot_id, counts, skipped, timer, elapsed, backlog) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "robot_id": robot_id,
        "ts": time.time(),
        "fps": round(counts["frames"] / elapsed, 3) if elapsed > 0 else 0.0,
        "frames": counts["frames"],
        "frames_dropped": skipped,
        "latency_ms": timer.means_ms(),
        "outbox_backlog": backlog,
    }
