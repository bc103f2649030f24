"""Hostile input on the robot's side: poses, commands, configs, model.json, frames, the outbox disk.

Each case once ended in a traceback, a hang, or a robot that published what is not JSON.
"""
from __future__ import annotations

import json

import pytest

from edge.config import MqttConfig
from edge.errors import ConfigError
from edge.comms.outbox import Outbox
from edge.wall.pose import PoseBuffer, PoseSample, load_pose_csv, parse_pose_message
from edge.comms.publisher import Publisher


def _pose(**overrides) -> bytes:
    data = {"schema_version": 1, "robot_id": "r1", "ts": 100.0, "x_mm": 10.0, "y_mm": 20.0}
    data.update(overrides)
    return json.dumps(data).encode()


# -- poses -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [{"x_mm": 1e308}, {"y_mm": -1e200}, {"ts": 1e300}, {"standoff_mm": 1e300},
                                       {"x_mm": 1e9}])
def test_pose_beyond_bounds_is_refused(overrides):
    with pytest.raises(ValueError):
        parse_pose_message(_pose(**overrides), "r1")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_pose_with_nan_or_infinity_is_refused(token):
    with pytest.raises(ValueError, match="not JSON"):
        parse_pose_message(_pose(x_mm="@").replace(b'"@"', token.encode()), "r1")


@pytest.mark.parametrize("payload", [b"[" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b" " * 5000])
def test_pose_deep_or_large_is_a_value_error(payload):
    with pytest.raises(ValueError):
        parse_pose_message(payload, "r1")


def test_pose_sample_and_csv_are_bounded(tmp_path):
    with pytest.raises(ValueError):
        PoseSample(1.0, 1e308, 0.0)
    log = tmp_path / "poses.csv"
    log.write_text("ts,x_mm,y_mm\n1,0,0\n2,1e308,0\n")
    with pytest.raises(ConfigError, match=":3:"):
        load_pose_csv(log, PoseBuffer())


# -- what the robot writes is JSON -----------------------------------------------------------------

def test_robot_never_publishes_infinity(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    pub = Publisher(MqttConfig(), "r1", outbox)
    pub.publish_event({"event_id": "e1", "crack_id": "c1", "wall": {"center_mm": [float("inf"), 0.0]}})
    assert len(outbox) == 0 and pub.unencodable == 1
    pub.publish_event({"event_id": "e2", "crack_id": "c1", "ts": 1.0})
    assert len(outbox) == 1
    outbox.close()


# -- frames: a pixel cap, and one bad frame never ends the run ----------------------------------------

import struct  # noqa: E402
import threading  # noqa: E402
import zlib  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from edge.camera.folder import FolderCamera  # noqa: E402
from edge.camera.imagesize import image_size  # noqa: E402
from edge.frame.cascade import FrameResult  # noqa: E402
from edge.config import FolderCameraConfig  # noqa: E402
from edge.loop.pipeline import LoopSettings, Pipeline, Stages  # noqa: E402
from edge.wall.tracker import Tracker  # noqa: E402
from edge.types import Crack, Frame, Patch  # noqa: E402


def _png_header_only(path, width: int, height: int) -> None:
    """A PNG whose header claims width x height (its pixel data is a stub, as in a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_image_size_reads_headers(tmp_path):
    img = np.zeros((37, 53, 3), np.uint8)
    for suffix in (".png", ".jpg", ".bmp"):
        cv2.imwrite(str(tmp_path / f"a{suffix}"), img)
        assert image_size(tmp_path / f"a{suffix}") == (53, 37), suffix
    _png_header_only(tmp_path / "bomb.png", 30000, 30000)
    assert image_size(tmp_path / "bomb.png") == (30000, 30000)
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00")
    assert image_size(tmp_path / "junk.jpg") is None


def test_folder_camera_skips_a_frame_over_the_cap_before_decoding(tmp_path, monkeypatch):
    cv2.imwrite(str(tmp_path / "0.png"), np.full((20, 30, 3), 50, np.uint8))
    _png_header_only(tmp_path / "1.png", 30000, 30000)
    cv2.imwrite(str(tmp_path / "2.png"), np.full((20, 30, 3), 90, np.uint8))
    decoded = []
    real_imread = cv2.imread
    monkeypatch.setattr(cv2, "imread", lambda p, *a: decoded.append(p) or real_imread(p, *a))
    cam = FolderCamera(FolderCameraConfig(type="folder", path=str(tmp_path)))
    cam.max_pixels = 40_000_000
    frames = list(cam.frames())
    assert [f.index for f in frames] == [0, 1] and cam.too_large == 1 and cam.skipped == 1
    assert not any(p.endswith("1.png") for p in decoded)  # never handed to the decoder


class _Cam:
    live = False

    def __init__(self, sizes):
        self.sizes = sizes

    def frames(self):
        rng = np.random.default_rng(0)
        for i, (h, w) in enumerate(self.sizes):
            yield Frame(rgb=(rng.random((h, w, 3)) * 255).astype(np.uint8), ts=float(i), index=i)


class _FailingAnalyzer:
    """Fails on the frames named, like cv2 running out of memory; finds a crack on the others."""

    def __init__(self, fail_at):
        self.fail_at = set(fail_at)

    def analyze(self, frame, threshold, timer=None):
        if frame.index in self.fail_at:
            raise cv2.error("OpenCV(4.x) error: (-4:Insufficient memory) Failed to allocate 2700000000 bytes")
        crack = Crack(bbox_px=(0, 0, 10, 10), confidence=0.9, tiles=1)
        return FrameResult(np.array([0.9]), [Patch(0, 0, 10)], (1, 1), [crack], 0)


def _run(camera, analyzer, **kw):
    published = []
    handle = lambda frame, events: [{"type": e.type, "crack_id": e.track.crack_id} for e in events]  # noqa: E731
    stages = Stages(camera, analyzer, Tracker(10, 5, 20, "t"), lambda f: f, handle, published.append)
    pipe = Pipeline(stages, LoopSettings(telemetry_interval_s=60, frame_queue=2, **kw), stop=threading.Event())
    return pipe, pipe.run(), published


def test_a_failing_frame_is_counted_and_the_run_goes_on():
    pipe, counts, published = _run(_Cam([(20, 20)] * 6), _FailingAnalyzer({1, 3}))
    assert counts["frames_failed"] == 2 and counts["frames"] == 6 and not pipe.errors
    # frames after the failures still analysed: 4 frames without a pose, each a scene of its own
    assert [p["type"] for p in published] == ["new", "end"] * 4


def test_a_frame_over_the_pixel_cap_is_skipped():
    pipe, counts, _ = _run(_Cam([(20, 20), (100, 100), (20, 20)]), _FailingAnalyzer(()), max_pixels=1000)
    assert counts["frames_too_large"] == 1 and counts["frames"] == 2 and not pipe.errors


# -- config bounds ----------------------------------------------------------------------------------

from edge.config import load_config  # noqa: E402

_SIM = "robot_id: r1\ncamera: {type: sim}\n"


@pytest.mark.parametrize("override, key", [
    ("tiling.stride=1", "tiling.stride"), ("tiling.overlap=0.999", "tiling.overlap"),
    ("camera.fps=.inf", "camera.fps"), ("camera.fps=.nan", "camera.fps"),
    ("mqtt.reconnect_max_s=.inf", "mqtt.reconnect_max_s"), ("pipeline.max_frame_pixels=0", "pipeline.max_frame_pixels"),
])
def test_config_refuses_unbounded_numbers(tmp_path, override, key):
    path = tmp_path / "c.yaml"
    path.write_text(_SIM)
    with pytest.raises(ConfigError, match=key):
        load_config(path, [override])


def test_stride_over_the_tile_size_is_a_config_error(tmp_path):
    from edge.loop.compose import tile_stride

    cfg = load_config_text(tmp_path, _SIM + "tiling: {stride: 100000}\n")
    with pytest.raises(ConfigError, match="over the tile size"):
        tile_stride(cfg, 227, 227)
    assert tile_stride(load_config_text(tmp_path, _SIM + "tiling: {overlap: 0.875}\n"), 64, 64) == 8


def load_config_text(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config(path)


def test_config_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"robot_id: r1\n\xff\xfe\x00binary")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_billion_laughs_is_refused_at_once(tmp_path, monkeypatch):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "c.yaml"
    path.write_text(_SIM + "\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"c.yaml:4: YAML aliases \(\*a0\) are not allowed"):
        load_config(path)
    with pytest.raises(ConfigError, match="aliases"):
        load_config(load_config_path(tmp_path), ["camera.fps=[&x 1, *x]"])


def test_deep_yaml_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(_SIM + "x: " + "[" * 20000 + "]" * 20000 + "\n")
    with pytest.raises(ConfigError, match="nested deeper than 16 levels"):
        load_config(path)


def load_config_path(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(_SIM)
    return path


@pytest.mark.parametrize("yaml_value", ["98765432", "[98765432]", "{a: 98765432}", "true"])
def test_password_never_in_a_config_error(tmp_path, yaml_value):
    path = tmp_path / "c.yaml"
    path.write_text(_SIM + f"mqtt: {{password: {yaml_value}}}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "98765432" not in str(err.value) and "mqtt.password" in str(err.value)


# -- model.json ------------------------------------------------------------------------------------

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from edge.models.bundle import load_bundle  # noqa: E402
from edge.errors import ModelError  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "crack_classifier"


@pytest.fixture
def bundle(tmp_path):
    dst = tmp_path / "b"
    shutil.copytree(SHIPPED, dst)
    return dst


def _edit(bundle, change):
    meta = json.loads((bundle / "model.json").read_text())
    change(meta)
    (bundle / "model.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("change, match", [
    (lambda m: m["normalization"].update(std=[0, 0, 0]), "normalization.std: every std must be > 0"),
    (lambda m: m["normalization"].update(std=[1, -1, 1]), "normalization.std"),
    (lambda m: m["normalization"].update(mean=[0, 0]), "2 means and 3 stds for 3 input channels"),
    (lambda m: m["tile"].update(stride=0), "tile.stride"),
    (lambda m: m["tile"].update(stride=500), "over the tile size"),
    (lambda m: m["tile"].update(size=100, stride=100), "differs from the classifier's input 227"),
    (lambda m: m["input"].update(shape=[1, 227, 200, 3]), r"input.shape must be \[1, S, S, C\]"),
    (lambda m: m["input"].update(shape=[1, 0, 0, 3]), "input.shape"),
    (lambda m: m.update(threshold=float("nan")), "threshold"),
    (lambda m: m.update(threshold=2), "threshold"),
    (lambda m: m["normalization"].update(std=[float("inf")] * 3), "normalization.std"),
    (lambda m: m["input"].update(scale=float("nan")), "input.scale"),
])
def test_model_json_validated_strictly(bundle, change, match):
    _edit(bundle, change)
    with pytest.raises(ModelError, match=match) as err:
        load_bundle(bundle)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x01binary", b"[" * 100_000])
def test_model_json_unreadable_is_one_line(bundle, content):
    (bundle / "model.json").write_bytes(content)
    with pytest.raises(ModelError):
        load_bundle(bundle)


# -- the outbox disk -------------------------------------------------------------------------------

import logging  # noqa: E402

from edge.errors import OutboxError  # noqa: E402


@pytest.mark.parametrize("make_bad", [lambda p: p.mkdir(), lambda p: p.write_bytes(b"not sqlite " * 200),
                                      lambda p: (p.parent / "file").write_text("x")])
def test_outbox_that_cannot_be_opened_is_one_line(tmp_path, make_bad):
    path = tmp_path / "outbox.sqlite"
    make_bad(path)
    if (tmp_path / "file").exists():
        path = tmp_path / "file" / "outbox.sqlite"  # its folder is a file
    with pytest.raises(OutboxError, match="outbox.path .*: cannot open for writing") as err:
        Outbox(path)
    assert "\n" not in str(err.value)


def _read_only(outbox: Outbox, on: bool) -> None:
    # query_only makes SQLite refuse every write as a read-only file does ("attempt to write a
    # readonly database"); chmod cannot, as the tests may run as root.
    outbox._db.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")


def test_outbox_keeps_what_the_disk_refuses_and_writes_it_later(tmp_path, caplog):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put("t", b"e0")
    _read_only(outbox, True)
    with caplog.at_level(logging.ERROR, logger="edge.comms.outbox"):
        assert outbox.put("t", b"e1") is None and outbox.put("t", b"e2") is None
    assert "cannot write" in caplog.text and outbox.write_failures == 2
    assert len(outbox) == 3 and outbox.count("event") == 3 and outbox.unwritten == 2  # counted, so drain waits
    assert [r[2] for r in outbox.pending()] == [b"e0"]  # the retry fails again: nothing lost, nothing reordered
    _read_only(outbox, False)
    assert [r[2] for r in outbox.pending()] == [b"e0", b"e1", b"e2"] and outbox.unwritten == 0
    outbox.put("t", b"e3")
    assert [r[2] for r in outbox.pending()] == [b"e0", b"e1", b"e2", b"e3"]
    outbox.close()


def test_outbox_says_so_when_events_never_reached_the_disk(tmp_path, caplog):
    outbox = Outbox(tmp_path / "o.sqlite")
    _read_only(outbox, True)
    outbox.put("t", b"e1")
    with caplog.at_level(logging.ERROR, logger="edge.comms.outbox"):
        outbox.close()
    assert "1 event(s) never reached the disk" in caplog.text
