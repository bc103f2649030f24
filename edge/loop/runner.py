"""Running the composed robot (edge/loop/compose.py): the threaded pipeline, events through the sink,
telemetry, and the run's summary."""
from __future__ import annotations

import logging
import threading
import time
from typing import Optional

from edge.comms.commands import CommandHandler
from edge.comms.events import crack_event
from edge.comms.expiry import ExpiryRules
from edge.comms.schemas import SCHEMA_VERSION
from edge.config import EdgeConfig
from edge.loop.compose import Robot, compose
from edge.loop.evidence_feed import EvidenceFeed
from edge.loop.pipeline import LoopSettings, Pipeline, Stages
from edge.wall.pose import MqttPoseListener

log = logging.getLogger(__name__)


def peak_rss_mb() -> Optional[float]:
    """This process's peak resident memory in MB: VmHWM, which starts afresh at exec (ru_maxrss can
    carry the size of the process that forked this one); None where /proc is missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return None


def run(cfg: EdgeConfig, max_frames: Optional[int] = None, stop: Optional[threading.Event] = None) -> dict:
    """Compose the robot of `cfg` and run it (see run_robot)."""
    return run_robot(compose(cfg), max_frames, stop)


def _event_handler(robot: Robot, feed: Optional[EvidenceFeed]):
    """handle_events(frame, track events) -> payloads, with evidence crops saved (and made for MQTT, `feed`)
    for the frame's own events."""
    cfg, evidence = robot.cfg, robot.evidence

    def handle_events(frame, track_events):
        payloads = []
        for ev in track_events:
            payload = crack_event(cfg.robot_id, ev, robot.model_name, robot.model_sha256, cfg.measure.severity_scale)
            own = frame is not None and ev.type != "end" and ev.track.last_frame == frame.index
            if evidence is not None and own:
                path = evidence.save(frame.rgb, ev.track.last.bbox_px, f"{ev.track.crack_id}-{ev.seq:03d}", frame.hires)
                if path is not None:
                    payload["evidence"] = str(path)
            if feed is not None and own:
                feed.prepare(frame, ev, payload)
            payloads.append(payload)
        return payloads

    return handle_events


def _settings(robot: Robot) -> LoopSettings:
    cfg = robot.cfg
    live = getattr(robot.camera, "live", False)
    drop = cfg.pipeline.drop_when_late if cfg.pipeline.drop_when_late is not None else live
    return LoopSettings(cfg.telemetry.interval_s, cfg.pipeline.frame_queue, drop, cfg.blur.min_laplacian_var,
                        cfg.pipeline.max_frame_pixels)


def run_robot(robot: Robot, max_frames: Optional[int] = None, stop: Optional[threading.Event] = None) -> dict:
    """Run until the camera ends, `max_frames` frames were analysed or `stop` is set; return the summary."""
    cfg, sink, controls = robot.cfg, robot.sink, robot.controls
    backlog_at_start = sink.backlog
    if backlog_at_start:
        log.info("outbox holds %d unacknowledged events from an earlier run; they go first", backlog_at_start)
    rules = ExpiryRules(cfg.commands.max_age_s, cfg.commands.max_skew_s, cfg.commands.require_sent_at)
    CommandHandler(controls, sink, cfg.robot_id, rules).attach()  # pause, resume and threshold over MQTT
    if cfg.pose.source == "mqtt":
        MqttPoseListener(robot.pose_buffer, cfg.robot_id).attach(sink)
    sink.start()
    closed = sink.ends_for_killed_run()
    for payload in closed:
        sink.publish_event(payload)
    if closed:
        log.warning("ended %d crack(s) left open by an earlier run that did not stop cleanly", len(closed))
    started = time.monotonic()
    pipeline = None

    def telemetry():
        elapsed = time.monotonic() - started
        c = pipeline.counts
        sink.publish_telemetry({
            "schema_version": SCHEMA_VERSION, "robot_id": cfg.robot_id, "ts": time.time(),
            "fps": round(c["frames"] / elapsed, 3) if elapsed > 0 else 0.0,
            "frames": c["frames"], "frames_dropped": c["frames_dropped"],
            "latency_ms": pipeline.timer.means_ms(), "outbox_backlog": sink.backlog,
        })

    feed = EvidenceFeed(cfg.evidence.mqtt_max_kb, cfg.evidence.margin_px) if cfg.evidence.mqtt else None
    publish = sink.publish_event if feed is None else (lambda payload: feed.publish(sink, payload))
    after_publish = (lambda: None) if feed is None else (lambda: feed.send_due(sink))
    stages = Stages(robot.camera, robot.analyzer, robot.tracker, robot.attach_pose, _event_handler(robot, feed),
                    publish, after_publish, telemetry, lambda: controls.threshold, lambda: controls.paused)
    pipeline = Pipeline(stages, _settings(robot), max_frames=max_frames, stop=stop)
    try:
        with robot.camera:
            counts = pipeline.run()
        if not sink.drain(cfg.mqtt.drain_timeout_s):
            log.warning("%d events still in the outbox at exit; they are sent on the next start", sink.backlog)
    finally:
        sink.stop()  # retained `stopped`, clean disconnect
        outbox = {"outbox_backlog_at_start": backlog_at_start, "cracks_ended_from_killed_run": len(closed),
                  "outbox_backlog": sink.backlog, "outbox_write_failures": sink.write_failures,
                  "evidence_mqtt": {"sent": feed.sent if feed else 0, "dropped": feed.dropped if feed else 0,
                                    "acked": sink.evidence_acked,
                                    "confirmed": sink.evidence_confirmed, "largest_bytes": feed.largest if feed else 0}}
        sink.close()  # logs any event the disk never took
    if pipeline.errors:
        raise pipeline.errors[0]
    return summary(robot, pipeline, counts, time.monotonic() - started, outbox)


def summary(robot: Robot, pipeline: Pipeline, counts: dict, elapsed: float, outbox: dict) -> dict:
    """What `python -m edge run --summary` writes; `outbox`: the sink's figures taken before it closed."""
    sink, camera = robot.sink, robot.camera
    return {
        "frames": counts.get("frames", 0),
        "frames_dropped": counts.get("frames_dropped", 0),
        "frames_skipped": camera.skipped,
        "frames_too_large": getattr(camera, "too_large", 0) + counts.get("frames_too_large", 0),
        "frames_failed": counts.get("frames_failed", 0),
        "frames_blurred": counts.get("frames_blurred", 0),
        "frames_paused": counts.get("frames_paused", 0),
        "frames_without_pose": robot.attach_pose.missing,
        "tiles": counts.get("tiles", 0),
        "crack_tiles": counts.get("crack_tiles", 0),
        "segmented_tiles": counts.get("segmented_tiles", 0),
        "cracks": robot.tracker.total,
        "cracks_rejected_by_vote": robot.tracker.rejected,
        "events_published": counts.get("events_published", 0),
        "events_by_type": {t: counts.get(f"events_{t}", 0) for t in ("new", "update", "end")},
        "events_acked": sink.acked,
        "events_confirmed": sink.confirmed,  # by a registry receipt (outbox.confirm receipt)
        "events_unencodable": sink.unencodable,
        **outbox,
        "evidence_saved": robot.evidence.saved if robot.evidence else 0,
        "pose_messages": robot.pose_buffer.received if robot.pose_buffer else 0,
        "latency_ms": pipeline.timer.run_means_ms(),
        "capture_to_publish_ms": pipeline.latency_percentiles_ms(),
        "peak_rss_mb": peak_rss_mb(),
        "duration_s": round(elapsed, 3),
        "fps": round(counts.get("frames", 0) / elapsed, 2) if elapsed > 0 else 0.0,
        "model": {"name": robot.model_name, "sha256": robot.model_sha256},
    }
