"""Every camera backend: real files for folder, video, OpenCV and the simulator; stand-ins for the
hardware libraries (picamera2, OpenCV's GStreamer backend) and for a camera that fails."""
import sys
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera import open_camera
from edge.config import (FolderCameraConfig, GStreamerCameraConfig, OpenCVCameraConfig, Picamera2CameraConfig,
                         SimCameraConfig, SimWallConfig, VideoCameraConfig)
from edge.errors import CameraError, ConfigError


def _write_video(path, n=6, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, size)
    assert writer.isOpened()
    for i in range(n):
        frame = np.full((size[1], size[0], 3), 0, np.uint8)
        frame[:, :, 2] = 40 * i  # red grows frame by frame (BGR order on disk)
        writer.write(frame)
    writer.release()
    return path


def test_folder_frames_in_name_order_skipping_unreadable(tmp_path):
    for i, value in enumerate((10, 20, 30)):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((20, 30, 3), value, np.uint8))
    (tmp_path / "f1b.jpg").write_bytes(b"not a jpeg")
    cam = open_camera(FolderCameraConfig(type="folder", path=str(tmp_path), fps=4, mm_per_px=0.3))
    frames = list(cam.frames())
    assert [int(f.rgb[0, 0, 0]) for f in frames] == [10, 20, 30]
    assert cam.skipped == 1 and not cam.live
    assert frames[1].ts - frames[0].ts == pytest.approx(0.25)
    assert frames[0].pose is None and frames[0].scale == 0.3  # no invented position, only the scale


def test_folder_refuses_missing_and_empty(tmp_path):
    with pytest.raises(CameraError, match="not a folder"):
        open_camera(FolderCameraConfig(type="folder", path=str(tmp_path / "nope")))
    with pytest.raises(CameraError, match="no .jpg"):
        open_camera(FolderCameraConfig(type="folder", path=str(tmp_path)))


def test_video_file_timestamps_and_loop(tmp_path):
    path = _write_video(tmp_path / "clip.avi")
    cam = open_camera(VideoCameraConfig(type="video", path=str(path)))
    frames = list(cam.frames())
    cam.close()
    assert len(frames) == 6 and frames[0].rgb.shape == (48, 64, 3)
    assert frames[3].rgb[0, 0, 0] > frames[1].rgb[0, 0, 0]  # RGB order: the red channel grew
    assert frames[5].ts - frames[0].ts == pytest.approx(1.0)  # 5 frames at the file's 5 fps
    looped = open_camera(VideoCameraConfig(type="video", path=str(path), loop=True, fps=10))
    it = looped.frames()
    assert len([next(it) for _ in range(15)]) == 15
    assert not looped.live
    # realtime: paced at fps like a live camera (6 frames at 50 fps: the last leaves 0.1 s after the first)
    paced = open_camera(VideoCameraConfig(type="video", path=str(path), fps=50, realtime=True))
    started = time.monotonic()
    assert paced.live and len(list(paced.frames())) == 6
    assert time.monotonic() - started >= 0.1
    with pytest.raises(CameraError, match="no such file"):
        open_camera(VideoCameraConfig(type="video", path=str(tmp_path / "none.mp4")))


def test_opencv_backend_reads_a_url_or_file(tmp_path):
    path = _write_video(tmp_path / "clip.avi", n=4)
    cam = open_camera(OpenCVCameraConfig(type="opencv", source=str(path), max_failures=1, max_reopens=0))
    assert cam.live
    it = cam.frames()
    frames = [next(it) for _ in range(4)]
    assert [f.index for f in frames] == [0, 1, 2, 3]
    with pytest.raises(CameraError, match="gave up"):  # end of the file = a dead stream; no reopen allowed
        next(it)
    cam.close()


def test_sim_camera_pose_truth_and_blur():
    cfg = SimCameraConfig(type="sim", width=400, height=300, overlap=0.5, blur_every=3,
                          wall=SimWallConfig(width_px=800, height_px=600, cracks=1, seed=2))
    cam = open_camera(cfg)
    frames = list(cam.frames())
    assert len(frames) == len(cam.path) == 9
    f = frames[4]
    x, y = cam.path[4]
    assert f.pose.x_mm == pytest.approx((x + 200) * 0.5) and f.scale == 0.5
    assert np.array_equal(cam.truth_mask(4), cam.wall.mask[y:y + 300, x:x + 400])
    assert not np.array_equal(frames[2].rgb, cam.wall.rgb[cam.path[2][1]:cam.path[2][1] + 300,
                                                         cam.path[2][0]:cam.path[2][0] + 400])  # blurred
    assert np.array_equal(frames[1].rgb, cam.wall.rgb[cam.path[1][1]:cam.path[1][1] + 300,
                                                      cam.path[1][0]:cam.path[1][0] + 400])


def test_sim_wall_with_too_many_cracks_is_a_config_error():
    cfg = SimCameraConfig(type="sim", width=400, height=300, wall=SimWallConfig(width_px=500, height_px=400, cracks=9))
    with pytest.raises(ConfigError, match=r"^camera.wall: cannot place 9 separated cracks"):
        open_camera(cfg)


class FlakyCapture:
    """cv2.VideoCapture stand-in: the first device delivers 2 frames then fails; opening fails once."""

    opened = 0
    open_failures_left = 1

    def __init__(self, source, backend=None):
        self.backend = backend
        FlakyCapture.opened += 1
        self.ok = True
        if FlakyCapture.opened == 2 and FlakyCapture.open_failures_left:
            FlakyCapture.open_failures_left -= 1
            self.ok = False
        self.left = 2 if FlakyCapture.opened == 1 else 100

    def isOpened(self):
        return self.ok

    def set(self, *a):
        return True

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((8, 8, 3), np.uint8)

    def release(self):
        pass


def test_failing_camera_is_reopened_with_back_off(monkeypatch):
    monkeypatch.setattr(cv2, "VideoCapture", FlakyCapture)
    FlakyCapture.opened, FlakyCapture.open_failures_left = 0, 1
    cam = open_camera(OpenCVCameraConfig(type="opencv", source="0", max_failures=3, reopen_min_s=0.5, reopen_max_s=4))
    waits = []
    cam._sleep = waits.append
    it = cam.frames()
    frames = [next(it) for _ in range(5)]
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]  # the stream goes on after the failure
    assert cam.skipped == 3 and cam.reopens == 1
    assert waits == [0.5, 1.0]  # one failed reopen, so the wait doubled
    assert frames[4].ts >= frames[0].ts


def test_camera_gives_up_after_max_reopens(monkeypatch):
    class Dead(FlakyCapture):
        def isOpened(self):
            return FlakyCapture.opened == 1

        def read(self):
            return False, None

    monkeypatch.setattr(cv2, "VideoCapture", Dead)
    FlakyCapture.opened = 0
    cam = open_camera(OpenCVCameraConfig(type="opencv", source="0", max_failures=2, max_reopens=3, reopen_min_s=1))
    cam._sleep = lambda s: None
    with pytest.raises(CameraError, match="gave up after 3 reopen attempts"):
        next(cam.frames())


def test_gstreamer_without_support_says_what_to_install(monkeypatch):
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  Video I/O:\n    GStreamer:                   NO\n")
    cfg = GStreamerCameraConfig(type="gstreamer", pipeline="videotestsrc ! videoconvert ! appsink")
    with pytest.raises(CameraError, match="apt install python3-opencv"):
        open_camera(cfg)
    with pytest.raises(CameraError, match="apt install python3-opencv"):
        open_camera(OpenCVCameraConfig(type="opencv", gstreamer=True, source="videotestsrc ! appsink"))


def test_gstreamer_pipeline_opens_through_the_gstreamer_backend(monkeypatch):
    seen = {}

    class Capture(FlakyCapture):
        def __init__(self, source, backend=None):
            seen["source"], seen["backend"] = source, backend
            self.ok, self.left = True, 3

    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "    GStreamer:                   YES (1.22.0)\n")
    monkeypatch.setattr(cv2, "VideoCapture", Capture)
    pipeline = "nvarguscamerasrc ! nvvidconv ! video/x-raw,format=BGR ! appsink drop=true"
    cam = open_camera(GStreamerCameraConfig(type="gstreamer", pipeline=pipeline))
    it = cam.frames()
    assert next(it).rgb.shape == (8, 8, 3)
    assert seen == {"source": pipeline, "backend": cv2.CAP_GSTREAMER}
    with pytest.raises(CameraError, match="appsink"):
        open_camera(GStreamerCameraConfig(type="gstreamer", pipeline="videotestsrc ! fakesink"))


def test_picamera2_missing_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails as on a machine without it
    with pytest.raises(CameraError, match="apt install python3-picamera2"):
        open_camera(Picamera2CameraConfig(type="picamera2"), mm_per_px=0.2)


class FakePicamera2:
    """picamera2.Picamera2 stand-in: records configuration, serves requests, counts released buffers."""

    instances = []

    def __init__(self, num=0):
        self.num, self.config, self.started, self.released, self.closed = num, None, False, 0, False
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main, lores, controls, buffer_count):
        return {"main": main, "lores": lores, "controls": controls}

    def configure(self, config):
        self.config = config

    def start(self):
        self.started = True

    def capture_request(self):
        cam = self
        mw, mh = self.config["main"]["size"]
        lw, lh = self.config["lores"]["size"]

        class Request:
            def make_array(self, name):
                if name == "main":
                    bgr = np.zeros((mh, mw, 3), np.uint8)
                    bgr[..., 0] = 255  # blue in picamera2's B, G, R memory order
                    return bgr
                yuv = np.full((lh * 3 // 2, lw), 128, np.uint8)
                yuv[:lh] = 200  # a light grey luma plane
                return yuv

            def release(self):
                cam.released += 1

        return Request()

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True


def test_picamera2_streams_exposure_and_buffers(monkeypatch):
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2
    monkeypatch.setitem(sys.modules, "picamera2", module)
    FakePicamera2.instances.clear()
    cfg = Picamera2CameraConfig(type="picamera2", main_size=[640, 480], lores_size=[320, 240], fps=10,
                                robot_speed_mm_s=200, max_blur_px=0.5)
    cam = open_camera(cfg, mm_per_px=0.4)
    # 0.5 px * 0.4 mm/px at 200 mm/s = 1 ms
    assert cam.exposure_us == 1000
    pc = FakePicamera2.instances[0]
    assert pc.config["controls"]["ExposureTime"] == 1000 and pc.started
    it = cam.frames()
    frames = [next(it) for _ in range(3)]
    r, g, b = (int(v) for v in frames[0].rgb[0, 0])
    assert frames[0].rgb.shape == (240, 320, 3) and r == g == b and 195 <= r <= 220  # grey luma, no chroma
    assert frames[0].hires.shape == (480, 640, 3) and tuple(frames[0].hires[0, 0]) == (0, 0, 255)
    assert pc.released == 3  # every request's buffers went back
    cam.close()
    assert pc.closed


def test_every_camera_type_names_a_backend_that_exists():
    import importlib.util
    from typing import get_args

    from edge.config import CAMERA_TYPES, CameraConfig

    sections = get_args(CameraConfig)
    assert len(sections) == len(CAMERA_TYPES) == len(set(CAMERA_TYPES))
    for section in sections:
        module, cls = section.backend.split(":")
        assert importlib.util.find_spec(module) is not None, section.backend
        assert f"class {cls}" in Path(importlib.util.find_spec(module).origin).read_text()


def test_a_camera_missing_from_the_install_is_a_one_line_error(monkeypatch):
    from edge.config import SimCameraConfig

    monkeypatch.setattr(SimCameraConfig, "backend", "edge.sim_not_installed.camera:SimCamera")
    with pytest.raises(
        CameraError, match=r"^camera.type sim: edge.sim_not_installed.camera is not part of this install$"
    ):
        open_camera(SimCameraConfig(type="sim"))
