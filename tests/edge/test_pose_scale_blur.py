"""Pose matching and interpolation, pose messages and logs, scale from intrinsics, blur, evidence cap."""
import json

import cv2
import numpy as np
import pytest

from edge.frame.blur import is_blurred, sharpness
from edge.config import PoseConfig, ScaleConfig
from edge.errors import ConfigError
from edge.comms.evidence import EvidenceStore
from edge.wall.pose import PoseAttacher
from edge.wall.pose import MqttPoseListener, PoseBuffer, PoseSample, load_pose_csv, parse_pose_message
from edge.wall.scale import mm_per_px
from edge.types import Frame


def test_pose_interpolated_between_samples_and_none_when_stale():
    buf = PoseBuffer(max_gap_s=0.5)
    buf.add(PoseSample(10.0, 100.0, 50.0, heading_deg=170.0, standoff_mm=400.0))
    buf.add(PoseSample(11.0, 200.0, 70.0, heading_deg=-170.0, standoff_mm=500.0))
    p = buf.at(10.25)
    assert (p.x_mm, p.y_mm, p.standoff_mm) == pytest.approx((125.0, 55.0, 425.0))
    assert p.heading_deg == pytest.approx(175.0)  # the short way round through 180
    assert buf.at(11.4).x_mm == 200.0  # just after the last sample: the nearest one
    assert buf.at(12.0) is None and buf.at(9.0) is None  # too far from any sample
    buf.add(PoseSample(10.5, 0.0, 0.0))  # a late message lands in time order
    assert buf.at(10.25).x_mm == pytest.approx(50.0)


def test_pose_gap_is_not_bridged():
    buf = PoseBuffer(max_gap_s=0.5)
    buf.add(PoseSample(0.0, 0.0, 0.0))
    buf.add(PoseSample(5.0, 1000.0, 0.0))
    assert buf.at(2.5) is None


def test_pose_messages_validated_against_the_schema():
    good = {"schema_version": 1, "robot_id": "r1", "ts": 5.0, "x_mm": 10, "y_mm": 20, "standoff_mm": 300}
    sample = parse_pose_message(json.dumps(good).encode(), "r1")
    assert (sample.x_mm, sample.standoff_mm, sample.heading_deg) == (10.0, 300, None)
    buf = PoseBuffer()
    listener = MqttPoseListener(buf, "r1")
    listener.on_message("crackbot/r1/pose", b"{not json")
    listener.on_message("crackbot/r1/pose", json.dumps(dict(good, x_mm="left")).encode())
    listener.on_message("crackbot/r1/pose", json.dumps(dict(good, robot_id="r2")).encode())
    listener.on_message("crackbot/r1/pose", json.dumps(dict(good, x_mm=float("nan"))).encode())
    listener.on_message("crackbot/r1/pose", json.dumps(dict(good, y_mm=float("inf"))).encode())
    listener.on_message("crackbot/r1/pose", json.dumps(good).encode())
    assert (buf.rejected, buf.received, len(buf)) == (5, 1, 1)


def test_pose_csv_log(tmp_path):
    path = tmp_path / "poses.csv"
    path.write_text("ts,x_mm,y_mm,heading_deg\n1.0,0,0,\n2.0,100,10,5\n")
    buf = PoseBuffer(max_gap_s=2)
    assert load_pose_csv(path, buf) == 2
    assert buf.at(1.5).x_mm == pytest.approx(50.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,x_mm,y_mm\n1.0,zero,0\n")
    with pytest.raises(ConfigError, match=r"bad.csv:2: not a finite number"):
        load_pose_csv(bad, PoseBuffer())
    bad.write_text("ts,x_mm,y_mm\n1.0,nan,0\n")
    with pytest.raises(ConfigError, match=r"bad.csv:2: not a finite number"):
        load_pose_csv(bad, PoseBuffer())
    (tmp_path / "nohead.csv").write_text("time,x\n1,2\n")
    with pytest.raises(ConfigError, match="header lacks"):
        load_pose_csv(tmp_path / "nohead.csv", PoseBuffer())


def test_scale_from_intrinsics_and_standoff():
    # Pi HQ camera, 1.55 um pixels, 6 mm lens, 400 mm away, 2x binned stream
    cfg = ScaleConfig(focal_length_mm=6, pixel_pitch_um=1.55, binning=2, standoff_mm=400)
    assert mm_per_px(cfg) == pytest.approx(0.2067, abs=1e-4)
    assert mm_per_px(cfg, standoff_mm=800) == pytest.approx(2 * 0.2067, abs=1e-4)  # the pose's stand-off wins
    assert mm_per_px(ScaleConfig(mm_per_px=0.5, focal_length_mm=6, pixel_pitch_um=1.55, standoff_mm=400)) == 0.5
    assert mm_per_px(ScaleConfig()) is None
    with pytest.raises(ValueError, match="pixel_pitch_um is not"):  # half a set of intrinsics: refused by the schema
        ScaleConfig(focal_length_mm=6)


def test_pose_attacher_sources():
    frame = Frame(rgb=np.zeros((4, 4, 3), np.uint8), ts=10.0, index=0)
    buf = PoseBuffer()
    buf.add(PoseSample(10.0, 300.0, 40.0, heading_deg=90.0, standoff_mm=400.0))
    scale = ScaleConfig(focal_length_mm=4, pixel_pitch_um=2)
    attach = PoseAttacher(PoseConfig(source="mqtt"), scale, buf)
    f = attach(frame)
    assert (f.pose.x_mm, f.pose.heading_deg, f.pose.mm_per_px) == (300.0, 90.0, pytest.approx(0.2))
    late = attach(Frame(rgb=frame.rgb, ts=50.0, index=1))
    assert late.pose is None and attach.missing == 1
    none = PoseAttacher(PoseConfig(source="none"), ScaleConfig(mm_per_px=0.3))(frame)
    assert none.pose is None and none.scale == 0.3


def test_blurred_frame_has_low_laplacian_variance():
    rng = np.random.default_rng(0)
    sharp = (rng.random((240, 320, 3)) * 255).astype(np.uint8)
    smeared = cv2.GaussianBlur(sharp, (0, 0), 4)
    assert sharpness(sharp) > 10 * sharpness(smeared)
    assert is_blurred(smeared, 20.0) and not is_blurred(sharp, 20.0)
    assert not is_blurred(smeared, 0.0)  # 0 turns the check off


def test_evidence_crops_stay_under_the_disk_cap(tmp_path):
    rng = np.random.default_rng(1)
    frame = (rng.random((400, 400, 3)) * 255).astype(np.uint8)  # noise: JPEGs that do not shrink much
    store = EvidenceStore(tmp_path / "ev", max_mb=0.1, margin_px=10)
    paths = [store.save(frame, (50, 50, 250, 250), f"c{i}") for i in range(12)]
    on_disk = sorted(p.name for p in (tmp_path / "ev").glob("*.jpg"))
    assert sum(p.stat().st_size for p in (tmp_path / "ev").glob("*.jpg")) <= 0.1 * 1024 * 1024
    assert store.removed > 0 and "c11.jpg" in on_disk and "c0.jpg" not in on_disk  # the oldest went first
    crop = cv2.imread(str(paths[-1]))
    assert crop.shape[:2] == (220, 220)  # the box plus 10 px each side
    hires = cv2.resize(frame, (800, 800))
    big = cv2.imread(str(store.save(frame, (50, 50, 250, 250), "h", hires=hires)))
    assert big.shape[:2] == (440, 440)  # the same box cut from the 2x stream
