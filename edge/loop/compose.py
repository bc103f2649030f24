"""The robot composed from its config: models, camera, cascade, tracker, pose source, evidence and the
event sink, each checked before anything starts. Running it is edge/loop/runner.py's job.

Checks and the simulator replace parts by passing them in (a camera, a segment function, a sink);
the composition itself never asks what they are.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Optional

from edge.camera import open_camera
from edge.comms.commands import RobotControls
from edge.comms.evidence import EvidenceStore
from edge.comms.outbox import Outbox
from edge.comms.publisher import Publisher
from edge.comms.receipts import Confirmations
from edge.config import MIN_STRIDE, EdgeConfig
from edge.errors import ConfigError, ModelError
from edge.frame.cascade import FrameAnalyzer, SegmentFn
from edge.models.bundle import load_bundle
from edge.models.engines import check_model_file
from edge.models.classifier import Classifier
from edge.models.segmenter import Segmenter
from edge.models.zoom import zoomed
from edge.wall.pose import PoseAttacher, PoseBuffer, load_pose_csv
from edge.wall.scale import mm_per_px
from edge.wall.tracker import Tracker


@dataclass
class Robot:
    """Everything one run needs, composed and checked."""

    cfg: EdgeConfig
    camera: object  # edge.camera.base.Camera
    analyzer: FrameAnalyzer
    tracker: Tracker
    attach_pose: PoseAttacher
    pose_buffer: Optional[PoseBuffer]
    evidence: Optional[EvidenceStore]
    sink: object  # edge.comms.publisher.Publisher, or anything with its interface
    controls: RobotControls
    model_name: str
    model_sha256: str


def tile_stride(cfg: EdgeConfig, size: int, bundle_stride: int) -> int:
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


def _model_segmenter(cfg: EdgeConfig, bundle, size: int):
    """(segment function, pixel threshold, the Segmenter) of the config's segmenter bundle."""
    segmenter = Segmenter(bundle, cfg.models.threads, cfg.models.backend)
    if segmenter.tile_size != size:
        raise ModelError(f"{bundle.folder}: tile.size {segmenter.tile_size} differs from the classifier's {size}")
    segment = zoomed(segmenter.segment, cfg.models.segment_zoom)
    return (lambda frame, tiles, patches: segment(tiles)), segmenter.threshold, segmenter


def _analyzer(cfg: EdgeConfig, bundle, seg_bundle, segment_fn: Optional[SegmentFn]):
    """(the FrameAnalyzer with its models' interpreters, model name, model sha256) of the config."""
    classifier = Classifier(bundle, cfg.models.threads, cfg.models.backend)  # litert or native
    size = bundle.info.tile.size
    if (size, size) != classifier.input_size:
        raise ModelError(f"{bundle.folder}: tile size {size} differs from the model input {classifier.input_size}")
    model_name, model_sha = bundle.info.name, bundle.info.sha256
    pixel_threshold = 0.5
    if seg_bundle is not None:
        segment_fn, pixel_threshold, segmenter = _model_segmenter(cfg, seg_bundle, size)
        model_name, model_sha = f"{bundle.info.name}+{segmenter.name}", segmenter.sha256
    if cfg.models.pixel_threshold is not None:
        pixel_threshold = cfg.models.pixel_threshold
    analyzer = FrameAnalyzer(classifier.classify, size, tile_stride(cfg, size, bundle.info.tile.stride),
                             segment_fn=segment_fn, pixel_threshold=pixel_threshold, segment=cfg.models.segment,
                             min_area_px=cfg.measure.min_area_px, min_elongation=cfg.measure.min_elongation,
                             faint_threshold=cfg.models.faint_threshold, join_gap_mm=cfg.tracking.merge_distance_mm,
                             width_window_px=cfg.measure.width_window_px)
    return analyzer, model_name, model_sha


def compose(cfg: EdgeConfig, camera=None, segment_fn: Optional[SegmentFn] = None, sink=None) -> Robot:
    """The robot of `cfg`. camera: instead of the config's; segment_fn: instead of the config's segmenter
    (its probabilities are cut at models.pixel_threshold, 0.5 when unset); sink: instead of the outbox
    and the MQTT publisher."""
    # Missing or mismatched model files are refused before anything starts.
    bundle = load_bundle(cfg.models.classifier)
    seg_bundle = load_bundle(cfg.models.segmenter) if segment_fn is None and cfg.models.segmenter else None
    for checked in (bundle, seg_bundle):
        if checked is not None:
            check_model_file(checked, cfg.models.backend)
    pose_buffer = None
    if cfg.pose.source in ("mqtt", "csv"):
        pose_buffer = PoseBuffer(cfg.pose.max_gap_s, cfg.pose.buffer)
        if cfg.pose.source == "csv":
            load_pose_csv(cfg.pose.csv_path, pose_buffer)
    evidence = (
        EvidenceStore(cfg.evidence.dir, cfg.evidence.max_mb, cfg.evidence.margin_px) if cfg.evidence.dir else None
    )
    # The outbox first: a disk that cannot take events is refused before a camera is opened.
    if sink is None:
        outbox = Outbox(cfg.outbox.path, max_messages=cfg.outbox.max_messages)
        confirmations = Confirmations(outbox, cfg.robot_id, cfg.outbox.confirm, cfg.outbox.resend_after_s)
        sink = Publisher(cfg.mqtt, cfg.robot_id, outbox, home_assistant=cfg.home_assistant,
                         confirmations=confirmations)
    opened = camera is None
    if opened:
        camera = open_camera(cfg.camera, mm_per_px=mm_per_px(cfg.scale))
    camera.max_pixels = cfg.pipeline.max_frame_pixels  # the folder camera checks file headers before decoding
    # The interpreters after the camera: the simulator renders its wall on opening, and that peak of memory
    # then does not come on top of the models' (the two shipped ones' interpreters: about 30 MB of RSS).
    try:
        analyzer, model_name, model_sha = _analyzer(cfg, bundle, seg_bundle, segment_fn)
    except BaseException:
        if opened:
            camera.close()
        raise
    threshold = cfg.models.threshold if cfg.models.threshold is not None else bundle.info.threshold
    # Crack ids carry a token of this run so a restarted robot never reuses one.
    tracker = Tracker(cfg.tracking.merge_distance_mm, cfg.tracking.end_after_frames, cfg.tracking.update_min_mm,
                      id_prefix=f"{cfg.robot_id}-{uuid.uuid4().hex[:6]}", votes_k=cfg.tracking.votes_k,
                      votes_n=cfg.tracking.votes_n, width_update_mm=cfg.tracking.width_update_mm,
                      severity_scale=cfg.measure.severity_scale, min_area_px=cfg.measure.min_area_px,
                      min_length_mm=cfg.measure.min_length_mm, width_window_px=cfg.measure.width_window_px)
    return Robot(cfg, camera, analyzer, tracker, PoseAttacher(cfg.pose, cfg.scale, pose_buffer), pose_buffer,
                 evidence, sink, RobotControls(threshold), model_name, model_sha)
