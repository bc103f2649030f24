"""Evidence JPEGs from robots, one message per crack on <root>/<robot_id>/evidence/<crack_id> (raw bytes):
checked before the registry keeps them. A message is refused (and counted by the subscriber) when it is
over MAX_EVIDENCE_BYTES, its topic names no crack id a robot could give, or it is not a JPEG: the start of
image marker, then a frame header within the bytes giving a size of 1 to MAX_SIDE_PX pixels a side. The
header is read, never the image decoded, so a picture claiming a huge size costs nothing here."""
from __future__ import annotations

from typing import Optional, Tuple

from edge.comms import topics
from monitor import MonitorError

MAX_EVIDENCE_BYTES = 256 * 1024  # the robot caps its JPEGs at evidence.mqtt_max_kb, at most 250 KB
MAX_SIDE_PX = 8192
_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # frame headers (0xC4 Huffman, 0xC8 reserved, 0xCC arithmetic)


class InvalidEvidence(MonitorError):
    """An evidence message that is refused; `reason` names the kind (too_large, topic, not_jpeg)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def jpeg_size(data: bytes) -> Optional[Tuple[int, int]]:
    """(width, height) from a JPEG's frame header, None when `data` does not start as a JPEG or has none."""
    if data[:3] != b"\xff\xd8\xff":
        return None
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        code = data[i + 1]
        if code == 0xFF:  # fill byte
            i += 1
            continue
        if code in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        if code in (0xD9, 0xDA):  # end of image, or entropy-coded data before any frame header
            return None
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            return None
        if code in _SOF:
            if i + 9 > n:
                return None
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + length
    return None


def check_evidence(topic: str, payload: bytes, root: str) -> Tuple[str, str]:
    """(robot_id, crack_id) of a valid evidence message; InvalidEvidence says why one is not."""
    if len(payload) > MAX_EVIDENCE_BYTES:
        raise InvalidEvidence(f"evidence of {len(payload)} bytes is over the {MAX_EVIDENCE_BYTES} byte limit",
                              "too_large")
    try:
        robot, kind = topics.topic_kind(topic, root)
        crack_id = topics.evidence_crack_id(topic)
    except ValueError as exc:
        raise InvalidEvidence(str(exc), "topic") from None
    if kind != topics.EVIDENCE:
        raise InvalidEvidence(f"not an evidence topic: {topic[:200]!r}", "topic")
    size = jpeg_size(payload)
    if size is None:
        raise InvalidEvidence("evidence is not a JPEG (no start of image and frame header)", "not_jpeg")
    if not all(1 <= side <= MAX_SIDE_PX for side in size):
        raise InvalidEvidence(f"evidence JPEG of {size[0]} x {size[1]} pixels: 1 to {MAX_SIDE_PX} a side",
                              "not_jpeg")
    return robot, crack_id
