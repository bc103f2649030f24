"""The robot's config for still photos (the photo check, `edge inspect`): every photo a scene of its own
(no pose), one scale for all, no evidence (files or MQTT crops: the checks draw their own), no photo dropped."""
from __future__ import annotations

from edge.config.schema import EdgeConfig, ScaleConfig


def for_photos(cfg: EdgeConfig, mm_per_px: float = 1.0) -> EdgeConfig:
    """`cfg` for photos at `mm_per_px` (1: every figure in pixels); the camera is the caller's to set."""
    return cfg.model_copy(update={
        "pose": cfg.pose.model_copy(update={"source": "none"}),
        "scale": ScaleConfig(mm_per_px=mm_per_px),
        "evidence": cfg.evidence.model_copy(update={"dir": None, "mqtt": False}),
        "pipeline": cfg.pipeline.model_copy(update={"drop_when_late": False}),
    })
