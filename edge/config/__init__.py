"""The firmware config: its schema (schema.py) and how a YAML file becomes one (load.py)."""
from edge.config.load import apply_overrides, load_config
from edge.config.schema import (
    BlurConfig,
    CAMERA_TYPES,
    CameraConfig,
    EdgeConfig,
    EvidenceConfig,
    FolderCameraConfig,
    GStreamerCameraConfig,
    MIN_STRIDE,
    MeasureConfig,
    ModelsConfig,
    MqttConfig,
    MqttTlsConfig,
    OpenCVCameraConfig,
    OutboxConfig,
    Picamera2CameraConfig,
    PipelineConfig,
    PoseConfig,
    ScaleConfig,
    SimCameraConfig,
    SimWallConfig,
    TelemetryConfig,
    TilingConfig,
    TrackingConfig,
    VideoCameraConfig,
)

__all__ = ['BlurConfig', 'CAMERA_TYPES', 'CameraConfig', 'EdgeConfig', 'EvidenceConfig', 'FolderCameraConfig', 'GStreamerCameraConfig', 'MIN_STRIDE', 'MeasureConfig', 'ModelsConfig', 'MqttConfig', 'MqttTlsConfig', 'OpenCVCameraConfig', 'OutboxConfig', 'Picamera2CameraConfig', 'PipelineConfig', 'PoseConfig', 'ScaleConfig', 'SimCameraConfig', 'SimWallConfig', 'TelemetryConfig', 'TilingConfig', 'TrackingConfig', 'VideoCameraConfig', 'apply_overrides', 'load_config']
