"""Width and height of an image file from its header, without decoding it.

A 1 MB PNG can claim 30000 x 30000 pixels and decode to 2.7 GB; reading the header first lets the
folder camera skip such a file before cv2.imread allocates anything. PNG, JPEG and BMP headers are
read; None for any other format or a header that does not parse (the caller then decodes and
checks the decoded size).
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO, Optional, Tuple

_PNG = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless...); C4, C8 and CC are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_MAX_JPEG_SEGMENTS = 1000  # a header with more segments than this before its frame is not a photo


def image_size(path: Path) -> Optional[Tuple[int, int]]:
    """(width, height) from the file header, or None when it cannot be told cheaply."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(26)
            if head.startswith(_PNG) and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:2] == b"BM" and len(head) >= 26:
                width, height = struct.unpack("<ii", head[18:26])
                return abs(width), abs(height)
            if head[:2] == b"\xff\xd8":
                fh.seek(2)
                return _jpeg_size(fh)
    except (OSError, struct.error):
        return None
    return None


def _jpeg_size(fh: BinaryIO) -> Optional[Tuple[int, int]]:
    for _ in range(_MAX_JPEG_SEGMENTS):
        marker = fh.read(2)
        while marker[:1] == b"\xff" and marker[1:2] == b"\xff":  # fill bytes before a marker
            marker = marker[1:] + fh.read(1)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        length_bytes = fh.read(2)
        if len(length_bytes) < 2:
            return None
        (length,) = struct.unpack(">H", length_bytes)
        if marker[1] in _SOF:
            data = fh.read(5)
            if len(data) < 5:
                return None
            height, width = struct.unpack(">HH", data[1:5])
            return width, height
        if length < 2:
            return None
        fh.seek(length - 2, 1)
    return None
