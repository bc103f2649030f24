"""The firmware config's schema: every section and key with its type, bounds and description, and the
rules between keys (validators), so a config that loads is a config the robot can run.

Unknown keys are refused: a typo must not silently fall back to a default on a robot.
"""
from __future__ import annotations

from typing import ClassVar, List, Literal, Optional, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.frame.severity import SCALES
from edge.models.zoom import MAX_ZOOM


class _Strict(BaseModel):
    # allow_inf_nan=False: YAML reads .inf and .nan as floats, and `gt=0` lets .inf through.
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)


MIN_STRIDE = 8  # a smaller tile stride multiplies the tiles of a frame past any memory (stride 1: 51 000x)
MAX_TS = 1e10  # frame timestamps, seconds since the epoch: the event schema's bound


class SimWallConfig(_Strict):
    width_px: int = Field(6000, gt=0, description="Wall width in pixels of the rendered wall image")
    height_px: int = Field(3000, gt=0, description="Wall height in pixels")
    mm_per_px: float = Field(0.5, gt=0, description="Wall pixel size in mm: 6000 px at 0.5 mm is a 3 m wall")
    cracks: int = Field(8, ge=0, description="Number of cracks drawn on the wall")
    kind: Literal["concrete", "masonry"] = Field("concrete", description="Surface texture")
    seed: int = Field(0, description="Seed of the wall generator: the same seed gives the same wall")


class SimCameraConfig(_Strict):
    backend: ClassVar[str] = "edge.sim.camera:SimCamera"  # module:class that opens it (edge/camera)
    type: Literal["sim"] = Field(description="A simulated robot scanning a synthetic wall")
    width: int = Field(1280, gt=0, description="Frame width in pixels")
    height: int = Field(960, gt=0, description="Frame height in pixels")
    fps: float = Field(10.0, gt=0, description="Frame rate; frame timestamps advance by 1/fps")
    realtime: bool = Field(False, description="Sleep to keep the frame rate (false: as fast as possible)")
    overlap: float = Field(0.25, ge=0, lt=0.9, description="Overlap of neighbouring frames, as a fraction")
    blur_every: int = Field(
        0, ge=0, description="Blur every n-th frame (a robot that jolts), to exercise the blur check; 0: never"
    )
    wall: SimWallConfig = Field(default_factory=SimWallConfig, description="The synthetic wall scanned")


class FolderCameraConfig(_Strict):
    backend: ClassVar[str] = "edge.camera.folder:FolderCamera"  # module:class that opens it (edge/camera)
    type: Literal["folder"] = Field(description="Frames read from image files in a folder, in name order")
    path: str = Field(description="Folder holding .jpg/.png frames")
    fps: float = Field(10.0, gt=0, description="Frame rate used for timestamps")
    start_ts: Optional[float] = Field(None, ge=0, le=MAX_TS, description="Timestamp of the first frame (epoch s), to "
                                      "match a pose log recorded with the frames; null: the time the run starts")
    mm_per_px: Optional[float] = Field(
        None, gt=0, description="Scale of the frames (deprecated here: use scale.mm_per_px)"
    )


class _Reopen(_Strict):
    max_failures: int = Field(10, ge=1, description="Failed grabs in a row before the camera is closed and reopened")
    reopen_min_s: float = Field(1.0, gt=0, description="First wait before reopening a failed camera; doubles each time")
    reopen_max_s: float = Field(30.0, gt=0, description="Longest wait between reopen attempts")
    max_reopens: Optional[int] = Field(
        None, ge=0, description="Reopen attempts in a row before giving up; null: never give up"
    )


class VideoCameraConfig(_Strict):
    backend: ClassVar[str] = "edge.camera.video:VideoCamera"  # module:class that opens it (edge/camera)
    type: Literal["video"] = Field(description="Frames from a video file (mp4, avi, mkv...) through OpenCV")
    path: str = Field(description="Video file")
    fps: Optional[float] = Field(None, gt=0, description="Frame rate for timestamps; null: the file's own")
    loop: bool = Field(False, description="Start again at the end (soak tests)")
    realtime: bool = Field(False, description="Deliver frames at fps like a live camera (late frames are dropped); "
                           "false: as fast as they are read, none dropped")
    start_ts: Optional[float] = Field(None, ge=0, le=MAX_TS, description="Timestamp of the first frame (epoch s), to "
                                      "match a pose log recorded with the video; null: the time the run starts")


class Picamera2CameraConfig(_Reopen):
    backend: ClassVar[str] = "edge.camera.picamera2:Picamera2Camera"  # module:class that opens it (edge/camera)
    type: Literal["picamera2"] = Field(description="Raspberry Pi CSI camera through picamera2 (libcamera)")
    camera_num: int = Field(0, ge=0, description="Which CSI camera")
    main_size: List[int] = Field([2028, 1520], min_length=2, max_length=2,
                                 description="Main stream [w, h], kept for evidence crops and measurement")
    lores_size: List[int] = Field(
        [1014, 760],
        min_length=2,
        max_length=2,
        description="Low-resolution stream [w, h], sized to the model's tiling: it is what is analysed",
    )
    analyse: Literal["main", "lores"] = Field("lores", description="Which stream the models see")
    fps: float = Field(10.0, gt=0, description="Frame rate requested from the sensor")
    robot_speed_mm_s: float = Field(200.0, gt=0, description="Robot speed along the wall, for the exposure limit")
    max_blur_px: float = Field(0.5, gt=0, description="Motion blur allowed during one exposure, in analysed pixels")
    mm_per_px: Optional[float] = Field(None, gt=0, description="Scale of the analysed stream for the exposure limit; "
                                       "null: taken from the scale section")


class GStreamerCameraConfig(_Reopen):
    backend: ClassVar[str] = "edge.camera.gstreamer:GStreamerCamera"  # module:class that opens it (edge/camera)
    type: Literal["gstreamer"] = Field(
        description="A GStreamer pipeline ending in appsink (Jetson CSI cameras), via OpenCV"
    )
    pipeline: str = Field(description="Pipeline string, e.g. nvarguscamerasrc ! ... ! video/x-raw,format=BGR ! appsink")


class OpenCVCameraConfig(_Strict):
    backend: ClassVar[str] = "edge.camera.opencv:OpenCVCamera"  # module:class that opens it (edge/camera)
    type: Literal["opencv"] = Field(description="A camera through OpenCV: USB index, GStreamer pipeline or URL")
    source: str = Field("0", description="USB camera index ('0'), a GStreamer pipeline string, or an rtsp:// URL")
    gstreamer: bool = Field(False, description="Open `source` as a GStreamer pipeline (Jetson CSI cameras)")
    width: int = Field(1920, gt=0, description="Requested frame width (USB cameras)")
    height: int = Field(1080, gt=0, description="Requested frame height (USB cameras)")
    max_failures: int = Field(10, ge=1, description="Failed grabs in a row before the camera is closed and reopened")
    reopen_min_s: float = Field(1.0, gt=0, description="First wait before reopening a failed camera; doubles each time")
    reopen_max_s: float = Field(30.0, gt=0, description="Longest wait between reopen attempts")
    max_reopens: Optional[int] = Field(
        None, ge=0, description="Reopen attempts in a row before giving up; null: never give up"
    )


CameraConfig = Union[SimCameraConfig, FolderCameraConfig, OpenCVCameraConfig, VideoCameraConfig,
                     Picamera2CameraConfig, GStreamerCameraConfig]
CAMERA_TYPES = tuple(get_args(c.model_fields["type"].annotation)[0] for c in get_args(CameraConfig))


class ModelsConfig(_Strict):
    classifier: str = Field("models/crack_classifier", description="Classifier bundle folder; a relative path in a "
                            "config file is relative to that file's folder")
    threads: int = Field(2, ge=1, le=16, description="Interpreter threads")
    backend: Literal["litert", "native"] = Field(
        "litert", description="litert: run model.tflite with a TFLite interpreter; native: the model folders are "
        "compiled libraries from python -m convert.ccode (no TFLite runtime needed, single-threaded)")
    threshold: Optional[float] = Field(
        None, ge=0, le=1, description="Crack probability threshold; null: the bundle's own"
    )
    segmenter: Optional[str] = Field(None, description="Segmenter bundle folder (task segmentation); null: cracks are "
                                     "groups of crack tiles and carry no length or width")
    segment: Literal["crack_tiles", "crack_tiles_and_neighbours", "follow", "all"] = Field(
        "follow",
        description="Which tiles the segmenter sees: the classifier's crack tiles (fastest), "
        "those and their 8 neighbours (catches faint crack ends the classifier let pass), follow (the crack "
        "tiles, then "
        "each neighbour a segmented crack runs into, until it ends), or every tile",
    )
    pixel_threshold: Optional[float] = Field(
        None, ge=0, le=1, description="Per-pixel crack threshold; null: the segmenter bundle's own"
    )
    segment_zoom: int = Field(
        1,
        ge=1,
        le=MAX_ZOOM,
        description="Segment each tile enlarged this many times (as zoom x zoom tiles, zoom squared "
        "the segmenter's work): hairlines under a pixel wide in the frame become cracks the segmenter finds. "
        "1: off; see README, Measurement",
    )
    faint_threshold: Optional[float] = Field(
        None, ge=0, le=1, description="Hysteresis: pixels at or above this probability are crack too where they join "
        "a pixel above pixel_threshold (a crack's hairline tips and branches); they add length, never width, and "
        "trade a false length for each found one (see README, Measurement). null, or not below pixel_threshold: off")


class TilingConfig(_Strict):
    stride: Optional[int] = Field(None, ge=MIN_STRIDE, description="Tile stride in pixels, at least 8 and at most "
                                  "the tile size (checked at start); null: from overlap, else the bundle's tile stride")
    overlap: Optional[float] = Field(None, ge=0, le=0.875, description="Overlap of neighbouring tiles as a fraction, "
                                     "at most 0.875 (stride = size * (1 - overlap)); used when stride is null")


class MqttTlsConfig(_Strict):
    ca_certs: str = Field(description="CA certificate (PEM) that signed the broker's certificate")
    certfile: Optional[str] = Field(
        None, description="This robot's client certificate (PEM), for brokers that require one"
    )
    keyfile: Optional[str] = Field(
        None, description="Private key of certfile (PEM); keep it readable by the robot's user only"
    )
    insecure: bool = Field(
        False, description="Skip the host name check of the broker certificate (a test broker by IP only)"
    )

    @model_validator(mode="after")
    def _key_with_certificate(self):
        if bool(self.certfile) != bool(self.keyfile):
            raise ValueError("certfile and keyfile go together; give both or neither")
        return self


class MqttConfig(_Strict):
    host: str = Field("127.0.0.1", description="Broker host")
    port: int = Field(1883, ge=1, le=65535, description="Broker port")
    topic_root: str = Field(
        "crackbot",
        pattern=r"^[^#+/\s][^#+\s]*[^#+/\s]$|^[^#+/\s]$",
        description="Topics are <topic_root>/<robot_id>/...; no wildcards, no leading or trailing /",
    )
    client_id: Optional[str] = Field(None, description="MQTT client id; null: crackbot-<robot_id>")
    username: Optional[str] = Field(None, description="Broker user name; use ${ENV} rather than writing it here")
    password: Optional[str] = Field(None, description="Broker password; use ${ENV}")
    keepalive_s: int = Field(30, ge=5, description="MQTT keepalive; the last will fires after ~1.5x this")
    reconnect_min_s: float = Field(1.0, gt=0, description="First reconnect delay; doubles up to reconnect_max_s")
    reconnect_max_s: float = Field(30.0, gt=0, description="Longest reconnect delay")
    max_inflight: int = Field(20, ge=1, description="Unacknowledged QoS 1 events in flight at once")
    drain_timeout_s: float = Field(10.0, ge=0, description="At exit, how long to wait for the outbox to empty")
    protocol: Literal["3.1.1", "5"] = Field(
        "3.1.1",
        description="MQTT version. 5: a broker that refuses an event "
        "(an ACL) says so in its acknowledgement and the event stays in the outbox; "
        "3.1.1 brokers drop such an event silently. The embedded broker speaks 3.1.1 only",
    )
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0, description="MQTT 5 only: how long the broker keeps this "
                                  "robot's session (its queued commands) while it is away")

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol_as_text(cls, value):  # YAML reads `protocol: 5` as a number
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    tls: Optional[MqttTlsConfig] = Field(
        None, description="TLS to the broker (CA, client certificate); null: plain TCP"
    )


class CommandsConfig(_Strict):
    max_age_s: float = Field(60.0, gt=0, description="A command request whose sent_at is older than this (on the "
                             "robot's clock) is refused as expired; a request's own expiry_s can only shorten it")
    max_skew_s: float = Field(5.0, ge=0, description="A request whose sent_at is further than this ahead of the "
                              "robot's clock is refused (the clocks disagree, its age is unknown)")
    require_sent_at: bool = Field(False, description="Refuse requests without sent_at; false: they are applied "
                                  "whatever their age (older senders, Home Assistant buttons)")


class HomeAssistantConfig(_Strict):
    discovery: bool = Field(False, description="Publish retained Home Assistant MQTT discovery configs (online, "
                            "fps, outbox backlog, last crack width, pause and resume buttons) at every connect")
    discovery_prefix: str = Field(
        "homeassistant",
        pattern=r"^[^#+/\s][^#+\s]*[^#+/\s]$|^[^#+/\s]$",
        description="Home Assistant's discovery prefix (its MQTT integration setting); no wildcards, no "
        "leading or trailing /",
    )


class OutboxConfig(_Strict):
    path: str = Field(
        "out/outbox.sqlite", description="SQLite file where events wait until the broker acknowledges them"
    )
    max_messages: int = Field(100_000, ge=10, description="Bound of the outbox: when full the oldest telemetry is "
                              "dropped first; crack events are never dropped")
    confirm: Literal["receipt", "puback"] = Field(
        "receipt", description="When an event or evidence JPEG leaves the outbox. receipt: when a crackbot monitor's "
        "registry confirms it on <root>/<robot_id>/receipts (a broker that dies before saving loses nothing); "
        "puback: at the broker's acknowledgement, for subscribers that send no receipts (Node-RED, Home Assistant)")
    resend_after_s: float = Field(30.0, ge=1, le=86400, description="receipt only: an event the broker acknowledged "
                                  "is sent again when no receipt came within this time (and at every reconnect)")


class TrackingConfig(_Strict):
    merge_distance_mm: float = Field(
        60.0,
        ge=0,
        description="Detections closer than this on the wall are one "
        "crack; in a frame without a pose, its pieces this close (in px where it has no scale)",
    )
    end_after_frames: int = Field(3, ge=1, description="A crack unseen for this many frames has left the view: `end`")
    update_min_mm: float = Field(20.0, ge=0, description="Extent or length change that makes an `update` event")
    width_update_mm: float = Field(
        0.2, ge=0, description="Max width change that makes an `update` (or 10 %, the larger)"
    )
    votes_k: int = Field(1, ge=1, description="k of k-of-n voting: a crack is announced once detected in k frames ...")
    votes_n: int = Field(
        1, ge=1, description="... of the first n frames after it appeared (flicker never becomes a crack)"
    )

    @model_validator(mode="after")
    def _k_of_n(self):
        if self.votes_k > self.votes_n:
            raise ValueError(f"votes_k ({self.votes_k}) must not exceed votes_n ({self.votes_n})")
        return self


class PoseConfig(_Strict):
    source: Literal["camera", "mqtt", "csv", "none"] = Field(
        "camera",
        description="camera: the camera's own (the "
        "simulator); mqtt: <root>/<robot_id>/pose; csv: a log file; none: no wall positions",
    )
    csv_path: Optional[str] = Field(None, description="CSV log with a header ts,x_mm,y_mm[,heading_deg][,standoff_mm]")
    max_gap_s: float = Field(1.0, gt=0, description="A frame further than this from any pose sample gets no pose")
    buffer: int = Field(2000, ge=2, description="Pose samples kept for matching frames by time")

    @model_validator(mode="after")
    def _csv_has_a_file(self):
        if self.source == "csv" and not self.csv_path:
            raise ValueError("source csv needs csv_path")
        return self


class ScaleConfig(_Strict):
    mm_per_px: Optional[float] = Field(None, gt=0, description="Scale given directly; wins over the intrinsics")
    focal_length_mm: Optional[float] = Field(None, gt=0, description="Lens focal length")
    pixel_pitch_um: Optional[float] = Field(None, gt=0, description="Sensor pixel size")
    binning: float = Field(1.0, gt=0, description="Sensor pixels per analysed pixel (2 for a half-size stream)")
    standoff_mm: Optional[float] = Field(
        None, gt=0, description="Camera to wall distance; a pose's standoff_mm overrides it"
    )

    @model_validator(mode="after")
    def _whole_intrinsics(self):
        """Half a set of intrinsics is a mistake worth stopping for, not a silent 'no scale'."""
        given = [k for k in ("focal_length_mm", "pixel_pitch_um") if getattr(self, k) is not None]
        if self.mm_per_px is None and len(given) == 1:
            other = "pixel_pitch_um" if given[0] == "focal_length_mm" else "focal_length_mm"
            raise ValueError(f"{given[0]} is set but {other} is not: both are needed for the scale")
        return self


class MeasureConfig(_Strict):
    min_area_px: int = Field(20, ge=1, description="Mask components smaller than this are noise, not cracks")
    min_length_mm: float = Field(10.0, ge=0, description="A measured crack shorter than this is not announced (specks "
                                 "a segmenter marks); 0: every length")
    min_elongation: float = Field(
        3.0,
        ge=0,
        description="Mask components whose area / widest width squared (about "
        "length / width) is below this are blobs (pores, dirt), not cracks, and so are components under "
        "30 mm whose convex hull is one (the rim of a spot); 0: keep all",
    )
    severity_scale: str = Field("BRE-Digest-251", description="Named severity scale (edge/frame/severity.py SCALES)")
    width_window_px: int = Field(1, ge=1, le=101, description="Widths averaged along the centreline over a box of "
                                 "this side (px), so a short bulge of the mask is not the max width; 1: each pixel's "
                                 "own width, right on real photos (python -m edge photo-check); the simulator: 21")

    @field_validator("severity_scale")
    @classmethod
    def _known_scale(cls, value):
        if value not in SCALES:
            raise ValueError(f"unknown scale {value!r} (known: {', '.join(SCALES)})")
        return value


class BlurConfig(_Strict):
    min_laplacian_var: float = Field(20.0, ge=0, description="Frames whose variance of the Laplacian is below this "
                                     "are blurred: flagged, counted, not analysed; 0 turns the check off")


class EvidenceConfig(_Strict):
    dir: Optional[str] = Field(
        None, description="Folder for evidence crops (JPEG) of new and updated cracks; null: none"
    )
    max_mb: float = Field(200.0, gt=0, description="Disk cap of the folder: the oldest crops go first")
    margin_px: int = Field(32, ge=0, description="Context kept around the crack box")
    mqtt: bool = Field(True, description="Also send a JPEG per new/updated crack, its trace and a scale bar drawn on "
                       "it, on <root>/<robot_id>/evidence/<crack_id> through the outbox (kept until acknowledged)")
    mqtt_max_kb: float = Field(60.0, ge=4, le=250, description="Cap of one MQTT evidence JPEG in KB: lower quality, "
                               "then smaller, until it fits; one that cannot is dropped and counted")


class PipelineConfig(_Strict):
    frame_queue: int = Field(2, ge=1, description="Frames waiting for inference (two keep it busy; more only hold "
                             "older frames); a live camera drops the oldest beyond it")
    max_frame_pixels: int = Field(40_000_000, ge=1, description="A frame with more pixels is skipped and counted "
                                  "(frames_too_large); image files are checked from their header, before decoding")
    drop_when_late: Optional[bool] = Field(None, description="Drop frames when inference lags; null: yes for live "
                                           "cameras, no for files and the non-realtime simulator")


class TelemetryConfig(_Strict):
    interval_s: float = Field(5.0, gt=0, description="Seconds between telemetry messages")


class EdgeConfig(_Strict):
    robot_id: str = Field(description="This robot's id, used in topics and events", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # what the robot sees, and where
    camera: CameraConfig = Field(discriminator="type", description="Camera backend, chosen by its `type:`")
    pose: PoseConfig = Field(default_factory=PoseConfig, description="Where each frame was taken on the wall")
    scale: ScaleConfig = Field(default_factory=ScaleConfig, description="mm per pixel, direct or from intrinsics")
    blur: BlurConfig = Field(default_factory=BlurConfig, description="Blurred frame check")

    # what it makes of a frame
    models: ModelsConfig = Field(default_factory=ModelsConfig, description="Model bundles and interpreter")
    tiling: TilingConfig = Field(default_factory=TilingConfig, description="How frames are cut into tiles")
    measure: MeasureConfig = Field(default_factory=MeasureConfig, description="Crack measurement and severity")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig, description="One id per physical crack")
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig, description="Threads and queues")

    # how findings leave it
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="Broker connection")
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="Disk outbox of events")
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig, description="Telemetry topic")
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig, description="Evidence crops, on disk and MQTT")

    # what it takes from outside
    commands: CommandsConfig = Field(default_factory=CommandsConfig, description="Which command requests are "
                                     "fresh enough to apply (pause, resume, threshold over MQTT)")
    home_assistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig,
                                                description="Home Assistant MQTT discovery")
