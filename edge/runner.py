"""The edge run: models and camera from the config, the threaded pipeline, events through outbox/MQTT."""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Callable, Optional

from .bundle import load_bundle
from .camera import open_camera
from .cascade import FrameAnalyzer
from .backends import make_classifier, make_segmenter
from .commands import CommandHandler, RobotControls
from .config import MIN_STRIDE, EdgeConfig
from .errors import ConfigError, ModelError
from .events import crack_event
from .evidence import EvidenceStore
from .outbox import Outbox
from .pipeline import Pipeline, PoseAttacher
from .pose import MqttPoseListener, PoseBuffer, load_pose_csv
from .publisher import Publisher
from .scale import check_scale, mm_per_px
from .schemas import SCHEMA_VERSION
from .severity import SCALES
from .tracker import Tracker
from .zoom import zoomed

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


def end_events_of_killed_run(outbox) -> list:
    """`end` events for the cracks an earlier run announced and never ended (it was killed): each is
    its crack's newest event with the next seq and a fresh event_id, at the time it was last seen."""
    ends = []
    for raw in outbox.take_open():
        try:
            last = json.loads(raw)
        except ValueError:
            continue
        ends.append({**last, "type": "end", "seq": int(last["seq"]) + 1, "event_id": uuid.uuid4().hex})
    return ends


def _remember_open(outbox, payloads) -> None:
    """Keep the newest event of each open crack in the outbox file (see end_events_of_killed_run)."""
    for payload in payloads:
        ended = payload["type"] == "end"
        outbox.track_open(payload["crack_id"], None if ended else json.dumps(payload, allow_nan=False).encode())


def _stride(cfg: EdgeConfig, size: int, bundle_stride: int) -> int:
    """The tile stride; ConfigError when it would leave strips of the frame unseen (over the tile size)."""
    if cfg.tiling.stride:
        stride = cfg.tiling.stride
    elif cfg.tiling.overlap is not None:
        stride = max(MIN_STRIDE, int(round(size * (1.0 - cfg.tiling.overlap))))
    else:
        stride = bundle_stride
    if stride > size:
        raise ConfigError(f"tiling.stride {stride} is over the tile size {size}: strips between tiles would "
                          f"never be analysed")
    return stride


class OfflineSink:
    """Stands in for the MQTT publisher in offline checks (`python -m edge scan-check`): events are
    handed to a callback instead of the outbox and the broker; nothing is subscribed."""

    def __init__(self, on_event: Callable[[dict], None]):
        self.on_event = on_event
        self.acked = 0

    def subscribe(self, suffix, handler):
        return suffix

    def publish_retained(self, suffix, payload):
        pass

    def start(self):
        pass

    def publish_event(self, payload: dict) -> None:
        self.on_event(payload)

    def publish_telemetry(self, payload: dict) -> None:
        pass

    def drain(self, timeout: float) -> bool:
        return True

    def stop(self):
        pass


def run(cfg: EdgeConfig, max_frames: Optional[int] = None, stop: Optional[threading.Event] = None,
        oracle: bool = False, offline: Optional[Callable[[dict], None]] = None) -> dict:
    """Run until the camera ends, `max_frames` frames were analysed or `stop` is set; return the summary.

    oracle: measure the simulator's exact crack masks instead of a segmenter's (a check of
    measurement and tracking on their own; needs camera.type sim).
    offline: a callback that receives every event instead of the outbox and MQTT."""
    stop = stop or threading.Event()
    if cfg.measure.severity_scale not in SCALES:
        raise ConfigError(f"measure.severity_scale {cfg.measure.severity_scale!r}: unknown (known: {', '.join(SCALES)})")
    check_scale(cfg.scale)
    if cfg.tracking.votes_k > cfg.tracking.votes_n:
        raise ConfigError(f"tracking.votes_k ({cfg.tracking.votes_k}) must not exceed tracking.votes_n ({cfg.tracking.votes_n})")
    if oracle and cfg.camera.type != "sim":
        raise ConfigError("the oracle check needs camera.type sim (only the simulator knows the true masks)")
    bundle = load_bundle(cfg.models.classifier)  # refuses a missing or mismatched model before anything starts
    classifier = make_classifier(bundle, cfg.models.backend, cfg.models.threads)  # litert or native
    threshold = cfg.models.threshold if cfg.models.threshold is not None else bundle.info.threshold
    size = bundle.info.tile.size
    stride = _stride(cfg, size, bundle.info.tile.stride)
    if (size, size) != classifier.input_size:
        raise ModelError(f"{bundle.folder}: tile size {size} differs from the model input {classifier.input_size}")
    segmenter = None
    if cfg.models.segmenter and not oracle:
        seg_bundle = load_bundle(cfg.models.segmenter)
        segmenter = make_segmenter(seg_bundle, cfg.models.backend, cfg.models.threads)
        if segmenter.tile_size != size:
            raise ModelError(f"{seg_bundle.folder}: tile.size {segmenter.tile_size} differs from the classifier's {size}")
    pixel_threshold = cfg.models.pixel_threshold
    if pixel_threshold is None:
        pixel_threshold = segmenter.threshold if segmenter else 0.5
    segment_fn = zoomed(segmenter.segment, cfg.models.segment_zoom) if segmenter else None
    analyzer = FrameAnalyzer(classifier.classify, size, stride, segment_fn=segment_fn,
                             pixel_threshold=pixel_threshold, segment=cfg.models.segment,
                             min_area_px=cfg.measure.min_area_px, oracle=oracle,
                             min_elongation=cfg.measure.min_elongation, faint_threshold=cfg.models.faint_threshold,
                             join_gap_mm=cfg.tracking.merge_distance_mm, width_window_px=cfg.measure.width_window_px)

    pose_buffer = None
    if cfg.pose.source in ("mqtt", "csv"):
        pose_buffer = PoseBuffer(cfg.pose.max_gap_s, cfg.pose.buffer)
        if cfg.pose.source == "csv":
            if not cfg.pose.csv_path:
                raise ConfigError("pose.source csv needs pose.csv_path")
            load_pose_csv(cfg.pose.csv_path, pose_buffer)
    attach_pose = PoseAttacher(cfg.pose, cfg.scale, pose_buffer)
    evidence = EvidenceStore(cfg.evidence.dir, cfg.evidence.max_mb, cfg.evidence.margin_px) if cfg.evidence.dir else None

    # The outbox first: a disk that cannot take events is refused before a camera is opened.
    outbox = Outbox(cfg.outbox.path, max_messages=cfg.outbox.max_messages) if offline is None else []
    camera = open_camera(cfg.camera, mm_per_px=mm_per_px(cfg.scale))
    camera.max_pixels = cfg.pipeline.max_frame_pixels  # the folder camera checks file headers before decoding
    backlog_at_start = len(outbox)
    if backlog_at_start:
        log.info("outbox holds %d unacknowledged events from an earlier run; they go first", backlog_at_start)
    publisher = Publisher(cfg.mqtt, cfg.robot_id, outbox) if offline is None else OfflineSink(offline)
    controls = RobotControls(threshold)
    commands = CommandHandler(controls, publisher, cfg.robot_id)
    commands.attach()  # pause, resume and threshold over MQTT
    if cfg.pose.source == "mqtt":
        MqttPoseListener(pose_buffer, cfg.robot_id).attach(publisher)
    publisher.start()
    closed = end_events_of_killed_run(outbox) if offline is None else []
    for payload in closed:
        publisher.publish_event(payload)
    if closed:
        log.warning("ended %d crack(s) left open by an earlier run that did not stop cleanly", len(closed))
    # Crack ids carry a token of this run so a restarted robot never reuses one.
    tracker = Tracker(cfg.tracking.merge_distance_mm, cfg.tracking.end_after_frames, cfg.tracking.update_min_mm,
                      id_prefix=f"{cfg.robot_id}-{uuid.uuid4().hex[:6]}", votes_k=cfg.tracking.votes_k,
                      votes_n=cfg.tracking.votes_n, width_update_mm=cfg.tracking.width_update_mm,
                      severity_scale=cfg.measure.severity_scale, min_area_px=cfg.measure.min_area_px,
                      min_length_mm=cfg.measure.min_length_mm, width_window_px=cfg.measure.width_window_px)
    model_name = bundle.info.name if segmenter is None else f"{bundle.info.name}+{segmenter.name}"
    model_sha = bundle.info.sha256 if segmenter is None else segmenter.sha256

    def handle_events(frame, track_events):
        payloads = []
        for ev in track_events:
            payload = crack_event(cfg.robot_id, ev, model_name, model_sha, cfg.measure.severity_scale)
            if evidence is not None and frame is not None and ev.type != "end" and ev.track.last_frame == frame.index:
                path = evidence.save(frame.rgb, ev.track.last.bbox_px, f"{ev.track.crack_id}-{ev.seq:03d}", frame.hires)
                if path is not None:
                    payload["evidence"] = str(path)
            payloads.append(payload)
        if offline is None:
            _remember_open(outbox, payloads)
        return payloads

    live = getattr(camera, "live", False)
    drop = cfg.pipeline.drop_when_late if cfg.pipeline.drop_when_late is not None else live
    started = time.monotonic()
    pipeline = None

    def telemetry():
        elapsed = time.monotonic() - started
        c = pipeline.counts
        publisher.publish_telemetry({
            "schema_version": SCHEMA_VERSION, "robot_id": cfg.robot_id, "ts": time.time(),
            "fps": round(c["frames"] / elapsed, 3) if elapsed > 0 else 0.0,
            "frames": c["frames"], "frames_dropped": c["frames_dropped"],
            "latency_ms": pipeline.timer.means_ms(), "outbox_backlog": len(outbox),
        })

    pipeline = Pipeline(camera, analyzer, tracker, attach_pose, lambda: controls.threshold, handle_events,
                        publisher.publish_event, telemetry, cfg.telemetry.interval_s, cfg.pipeline.frame_queue, drop,
                        cfg.blur.min_laplacian_var, max_frames=max_frames, stop=stop, paused_fn=lambda: controls.paused,
                        max_pixels=cfg.pipeline.max_frame_pixels)
    try:
        with camera:
            counts = pipeline.run()
        latency = pipeline.timer.run_means_ms()
        drained = publisher.drain(cfg.mqtt.drain_timeout_s)
        if not drained:
            log.warning("%d events still in the outbox at exit; they are sent on the next start", len(outbox))
    finally:
        publisher.stop()  # retained `stopped`, clean disconnect
        backlog = len(outbox)
        write_failures = getattr(outbox, "write_failures", 0)
        if offline is None:
            outbox.close()  # logs any event the disk never took
    if pipeline.errors:
        raise pipeline.errors[0]
    elapsed = time.monotonic() - started
    return {
        "frames": counts.get("frames", 0),
        "frames_dropped": counts.get("frames_dropped", 0),
        "frames_skipped": camera.skipped,
        "frames_too_large": getattr(camera, "too_large", 0) + counts.get("frames_too_large", 0),
        "frames_failed": counts.get("frames_failed", 0),
        "frames_blurred": counts.get("frames_blurred", 0),
        "frames_paused": counts.get("frames_paused", 0),
        "frames_without_pose": attach_pose.missing,
        "tiles": counts.get("tiles", 0),
        "crack_tiles": counts.get("crack_tiles", 0),
        "segmented_tiles": counts.get("segmented_tiles", 0),
        "cracks": tracker.total,
        "cracks_rejected_by_vote": tracker.rejected,
        "events_published": counts.get("events_published", 0),
        "events_by_type": {t: counts.get(f"events_{t}", 0) for t in ("new", "update", "end")},
        "events_acked": publisher.acked,
        "events_unencodable": getattr(publisher, "unencodable", 0),
        "outbox_backlog_at_start": backlog_at_start,
        "cracks_ended_from_killed_run": len(closed),
        "outbox_backlog": backlog,
        "outbox_write_failures": write_failures,
        "evidence_saved": evidence.saved if evidence else 0,
        "pose_messages": pose_buffer.received if pose_buffer else 0,
        "latency_ms": latency,
        "capture_to_publish_ms": pipeline.latency_percentiles_ms(),
        "peak_rss_mb": peak_rss_mb(),
        "duration_s": round(elapsed, 3),
        "fps": round(counts.get("frames", 0) / elapsed, 2) if elapsed > 0 else 0.0,
        "model": {"name": model_name, "sha256": model_sha},
        "oracle": oracle,
    }
